// Class names of the datasets Convoy knows by shape, used when a converted file has none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convoy {

// The ten Fashion-MNIST classes in label order.
const std::vector<std::string>& fashion_mnist_class_names();

// "0", "1", ... for a dataset whose classes have no names.
std::vector<std::string> numbered_class_names(int64_t classes);

}  // namespace convoy
