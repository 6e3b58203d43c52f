#include "io/checkpoint_metadata.hpp"

#include <boost/archive/text_iarchive.hpp>
#include <boost/archive/text_oarchive.hpp>
// The implementation files, to instantiate the bounded archive below.
#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_text_iarchive.ipp>
#include <boost/archive/impl/text_iarchive_impl.ipp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/tracking.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include <sstream>
#include <stdexcept>

#include "core/error.hpp"

namespace convoy::detail {

constexpr unsigned int kCheckpointMetadataVersion = 2;

// A text archive that refuses string lengths and collection counts larger than the archive
// itself. Boost resizes a string or vector to the count it reads before reading the items, so a
// count of 10^12 in a crafted file (the checksums guard against accidents, not intent) would
// otherwise allocate terabytes instead of failing.
class BoundedTextIArchive : public boost::archive::text_iarchive_impl<BoundedTextIArchive> {
 public:
  BoundedTextIArchive(std::istream& in, std::size_t limit)
      : boost::archive::text_iarchive_impl<BoundedTextIArchive>(in, 0), limit_(limit) {
    init();
  }

 protected:
  friend class boost::archive::detail::interface_iarchive<BoundedTextIArchive>;
  friend class boost::archive::load_access;
  using boost::archive::text_iarchive_impl<BoundedTextIArchive>::load;

  void load(boost::serialization::collection_size_type& count) {
    std::size_t n = 0;
    load(n);
    check(n, "a collection count");
    count = boost::serialization::collection_size_type(n);
  }
  void load(std::string& s) {
    std::size_t size = 0;
    load(size);
    check(size, "a string length");
    is.get();  // the separating space
    s.resize(size);
    if (size > 0) is.read(s.data(), static_cast<std::streamsize>(size));
    if (is.fail()) throw std::length_error(concat("a string of ", size, " bytes runs past the end of the metadata"));
  }

 private:
  void check(std::size_t n, const char* what) const {
    if (n > limit_) throw std::length_error(concat(what, " of ", n, " exceeds the ", limit_, "-byte metadata"));
  }
  std::size_t limit_;
};

// Serializes the fields of a TrainingState in place (no copy of the metrics history). Fields
// added in a later version are read only when `version` says the file has them.
struct CheckpointMetadata {
  TrainingState* state;

  template <class Archive>
  void serialize(Archive& ar, const unsigned int version) {
    // Boost hands a newer class version to serialize() without complaint; refuse it here.
    if (version > kCheckpointMetadataVersion)
      throw std::runtime_error(concat("metadata version ", version, ", this reads up to ", kCheckpointMetadataVersion));
    TrainingState& s = *state;
    ar & s.model_spec_json;
    ar & s.optimizer_json;
    ar & s.optimizer_step;
    ar & s.schedule_json;
    ar & s.epoch;
    ar & s.step;
    ar & s.batch_in_epoch;
    ar & s.seed;
    ar & s.world_size;
    ar & s.global_batch;
    ar & s.dataset_size;
    ar & s.sample_shape;
    ar & s.metrics_history;
    ar & s.settings_json;
    if (version >= 2) {
      ar & s.dataset_fingerprint;
      ar & s.preprocessing_json;
    }
  }
};

}  // namespace convoy::detail

BOOST_CLASS_VERSION(convoy::detail::CheckpointMetadata, convoy::detail::kCheckpointMetadataVersion)
BOOST_CLASS_TRACKING(convoy::detail::CheckpointMetadata, boost::serialization::track_never)

template class boost::archive::basic_text_iarchive<convoy::detail::BoundedTextIArchive>;
template class boost::archive::text_iarchive_impl<convoy::detail::BoundedTextIArchive>;
template class boost::archive::detail::archive_serializer_map<convoy::detail::BoundedTextIArchive>;

namespace convoy {

std::string encode_checkpoint_metadata(const TrainingState& state) {
  std::ostringstream out;
  {
    boost::archive::text_oarchive archive(out);
    const detail::CheckpointMetadata metadata{const_cast<TrainingState*>(&state)};
    archive << metadata;
  }
  return std::move(out).str();
}

void decode_checkpoint_metadata(std::string_view bytes, TrainingState& state, const std::string& name) {
  try {
    std::istringstream in{std::string(bytes)};
    detail::BoundedTextIArchive archive(in, bytes.size());
    detail::CheckpointMetadata metadata{&state};
    archive >> metadata;
  } catch (const std::exception& e) {
    throw IoError(detail::concat("checkpoint '", name, "': the metadata section passed its checksum but could not be ",
                                 "decoded (", e.what(), ")"));
  }
}

}  // namespace convoy
