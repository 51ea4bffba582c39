// libFuzzer target for the DNS message parser. Besides memory safety (ASan,
// UBSan) it checks the parser's promises: bounded output and bounded work
// (name decoding within name_work_budget) whatever the input. Seeds include
// the crafted pointer-chain messages of tests/analyzers/dns_crafted.h.
#include <cstdint>
#include <cstdlib>

#include "analyzers/dns/parser.h"

using namespace tapir::analyzers::dns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Message m;  // reused, as the analyzer does
  const tapir::Bytes in(data, size);
  const bool ok = parse_message(in, m);
  if (ok != (size >= kHeaderLen)) std::abort();
  // The budget may be overshot by the one label that crossed it (<= 64 units).
  if (m.name_work > name_work_budget(size) + 64) std::abort();
  if (m.questions.size() > kMaxQuestionsKept) std::abort();
  for (const auto* sec : {&m.answers, &m.authorities, &m.additionals}) {
    if (sec->size() > kMaxRecordsKept) std::abort();
    for (const Record& r : *sec)
      // Escaped text is at most 4 bytes per wire byte (\DDD).
      if (r.name.size() > 4 * kMaxNameWireLen) std::abort();
  }
  for (const Question& q : m.questions)
    if (q.name.size() > 4 * kMaxNameWireLen) std::abort();
  (void)looks_like_dns(in);
  // The same bytes as a TCP message body after the 2-byte length prefix.
  if (size > 2) (void)parse_message(in.subspan(2), m);
  return 0;
}
