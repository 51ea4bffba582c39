#include "decode/decoder.h"

#include "decode/frag.h"
#include "decode/walk.h"

namespace tapir::decode {

Decoder::Decoder(const DecoderConfig& config)
    : config_(config), frags_(std::make_unique<FragmentReassembler>(config)) {}

Decoder::~Decoder() = default;

DecodeStatus Decoder::decode(const RawFrame& frame, Packet& out) {
  out = Packet{};
  out.ts = frame.ts;
  out.caplen = frame.caplen;
  out.wirelen = frame.wirelen;
  out.frame = frame.data;
  ++stats_.frames;
  stats_.bytes += frame.wirelen;

  detail::Ctx c{config_, stats_, frags_.get(), out};
  c.ts = frame.ts;
  ByteReader r(frame.data, frame.data == nullptr ? 0 : frame.caplen);
  switch (frame.link) {
    case LinkType::kEthernet: detail::decode_ethernet(c, r); break;
    case LinkType::kLinuxSll: detail::decode_sll(c, r); break;
    case LinkType::kLinuxSll2: detail::decode_sll2(c, r); break;
    case LinkType::kNull: detail::decode_null(c, r, false); break;
    case LinkType::kLoop: detail::decode_null(c, r, true); break;
    case LinkType::kRaw: detail::decode_raw(c, r, 0); break;
    case LinkType::kIpv4: detail::decode_raw(c, r, 4); break;
    case LinkType::kIpv6: detail::decode_raw(c, r, 6); break;
    default: detail::fail(c, DecodeError::kUnsupportedLinkType); break;
  }
  // Reported after decoding so that a damaged header is still named first.
  if (frame.wirelen != 0 && frame.caplen > frame.wirelen) detail::fail(c, DecodeError::kCapLenExceedsWire);

  // Incomplete datagrams also expire when no fragment arrives to trigger it.
  if (frags_->pending() != 0 && frame.ts - last_expire_ >= kNsPerSec) {
    frags_->expire(frame.ts, stats_);
    last_expire_ = frame.ts;
  }
  if (out.error != DecodeError::kNone) {
    ++stats_.malformed;
    ++stats_.errors[static_cast<size_t>(out.error)];
    if (out.l3 == L3::kNone) return DecodeStatus::kMalformed;
    return DecodeStatus::kOk;
  }
  if (c.held) return DecodeStatus::kHeld;
  ++stats_.decoded;
  return DecodeStatus::kOk;
}

void Decoder::expire(TimeNs now) { frags_->expire(now, stats_); }

size_t Decoder::fragment_memory() const { return frags_->memory_bytes(); }

size_t Decoder::fragments_pending() const { return frags_->pending(); }

uint64_t Decoder::fragment_slot_visits() const { return frags_->slot_visits(); }

}  // namespace tapir::decode
