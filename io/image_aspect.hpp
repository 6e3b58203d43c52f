// Bringing an image to a target aspect ratio before it is resized: centre crop or zero padding.
#pragma once

#include <cstdint>

#include "io/image.hpp"

namespace convoy {

// stretch: leave the image as it is (resizing then distorts it). crop: the largest centred window
// of the target's aspect ratio. pad: the smallest centred canvas of that ratio, black around the
// image. Window sizes truncate toward zero, as Keras's crop_to_aspect_ratio and
// pad_to_aspect_ratio do.
enum class AspectMode { stretch, crop, pad };

// "stretch", "crop" or "pad": the name an import records (attribute `aspect` on /images).
const char* aspect_mode_name(AspectMode mode);

Image fit_aspect(const Image& input, int64_t height, int64_t width, AspectMode mode);

}  // namespace convoy
