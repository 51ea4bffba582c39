// DNS messages built to cost a name decompressor far more than their size,
// and a benign message of the same size to compare with. Shared by the parser
// test (work counters), the micro benchmark and the fuzz seeds
// (fuzz/dns/corpus/dns_message/crafted-*, written by
// `dns_parser_test --gtest_also_run_disabled_tests --gtest_filter=*WriteSeeds*`
// run in that folder).
//
// The hostile shape: a descending "staircase" of 127 elements early in the
// message, element 0 the label "x" and the root, element i the label "x" and a
// pointer to element i-1. The name at its top has 127 labels, 255 wire bytes
// and takes 127 jumps when reached through one more pointer: the most a single
// name may cost within the RFC 1035 limits. Then as many records as fit, each
// a 2-byte pointer to the top for its owner and another for its PTR data: 14
// bytes of message that make a naive decoder walk ~1000 bytes of labels and
// pointers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace tapir::testing::dns_crafted {

// How each record's names end, to exercise every path of the decoder.
enum class Tail {
  kClean,     // valid 127-label names: decodable, the memo makes them cheap
  kOverlong,  // a label before the pointer makes each owner name 257 bytes
  kLoop,      // the staircase ends in a pointer to itself: every name loops
};

struct Crafted {
  std::vector<uint8_t> bytes;
  std::vector<size_t> name_offsets;  // where each name of the message starts
  size_t records = 0;
  std::string top_name;  // dotted text of the staircase's top (kClean)
};

inline void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
inline void put_pointer(std::vector<uint8_t>& v, size_t off) {
  put16(v, static_cast<uint16_t>(0xC000 | off));
}
inline void put_header(std::vector<uint8_t>& v, uint16_t qd, uint16_t an) {
  put16(v, 0x4242);  // id
  put16(v, 0x8180);  // response, RD, RA, NOERROR
  put16(v, qd);
  put16(v, an);
  put16(v, 0);
  put16(v, 0);
}

// A response of at most `size` bytes (and within a few bytes of it).
inline Crafted hostile(size_t size, Tail tail = Tail::kClean) {
  constexpr int kSteps = 127;
  Crafted c;
  std::vector<uint8_t>& v = c.bytes;
  put_header(v, 0, 0);
  // Record 0 holds the staircase as opaque data (type NULL), so that the
  // decoder meets it only through pointers.
  v.push_back(0);  // owner: the root
  put16(v, 10);    // NULL
  put16(v, 1);
  put16(v, 0);
  put16(v, 60);
  const size_t rdlen_at = v.size();
  put16(v, 0);
  const size_t stair = v.size();
  if (tail == Tail::kLoop) {
    put_pointer(v, v.size());  // element 0 points at itself
  } else {
    v.insert(v.end(), {1, 'x', 0});
  }
  size_t prev = stair;
  for (int i = 1; i < kSteps; ++i) {
    const size_t here = v.size();
    v.insert(v.end(), {1, 'x'});
    put_pointer(v, prev);
    prev = here;
  }
  const size_t top = prev;
  const size_t rdlen = v.size() - stair;
  v[rdlen_at] = static_cast<uint8_t>(rdlen >> 8);
  v[rdlen_at + 1] = static_cast<uint8_t>(rdlen);
  c.records = 1;
  c.name_offsets.push_back(12);
  for (int i = 0; i < kSteps; ++i) c.top_name += i ? ".x" : "x";

  const size_t per_record = tail == Tail::kOverlong ? 16 : 14;
  while (v.size() + per_record <= size && c.records < 65535) {
    c.name_offsets.push_back(v.size());
    if (tail == Tail::kOverlong) v.insert(v.end(), {1, 'y'});
    put_pointer(v, top);
    put16(v, 12);  // PTR
    put16(v, 1);   // IN
    put16(v, 0);
    put16(v, 60);
    put16(v, 2);
    c.name_offsets.push_back(v.size());
    put_pointer(v, top);
    ++c.records;
  }
  v[6] = static_cast<uint8_t>(c.records >> 8);
  v[7] = static_cast<uint8_t>(c.records);
  return c;
}

// A response of the same size as real servers send them: one question, then
// A, AAAA and CNAME records for distinct hosts under the question's domain,
// compressed the usual way (owner names point at the question or at an
// earlier CNAME target).
inline Crafted benign(size_t size) {
  Crafted c;
  std::vector<uint8_t>& v = c.bytes;
  put_header(v, 1, 0);
  c.name_offsets.push_back(v.size());
  const size_t qname = v.size();
  v.insert(v.end(), {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0});
  const size_t domain = qname + 4;  // "example.com"
  put16(v, 1);
  put16(v, 1);
  size_t last_target = qname;
  for (uint32_t i = 0;; ++i) {
    const int kind = static_cast<int>(i % 4);
    const size_t need = kind == 0 ? 16 + 13 : kind == 3 ? 28 : 16;
    if (v.size() + need > size || c.records >= 65535) break;
    c.name_offsets.push_back(v.size());
    if (kind == 0) {
      // www.example.com CNAME edgeNNNNNN.example.com
      put_pointer(v, qname);
      put16(v, 5);
      put16(v, 1);
      put16(v, 0);
      put16(v, 300);
      put16(v, 13);
      c.name_offsets.push_back(v.size());
      // A pointer reaches only the first 16 KiB; later owners point at the
      // question, as a server's compressor would.
      last_target = v.size() < 0x4000 ? v.size() : qname;
      v.push_back(10);
      char label[11];
      std::snprintf(label, sizeof label, "edge%06u", i % 1000000);
      v.insert(v.end(), label, label + 10);
      put_pointer(v, domain);
    } else if (kind == 3) {
      put_pointer(v, last_target);
      put16(v, 28);
      put16(v, 1);
      put16(v, 0);
      put16(v, 300);
      put16(v, 16);
      for (int k = 0; k < 16; ++k) v.push_back(static_cast<uint8_t>(0x20 + k + i));
    } else {
      put_pointer(v, last_target);
      put16(v, 1);
      put16(v, 1);
      put16(v, 0);
      put16(v, 300);
      put16(v, 4);
      for (int k = 0; k < 4; ++k) v.push_back(static_cast<uint8_t>(10 + k + i));
    }
    ++c.records;
  }
  v[6] = static_cast<uint8_t>(c.records >> 8);
  v[7] = static_cast<uint8_t>(c.records);
  return c;
}

}  // namespace tapir::testing::dns_crafted
