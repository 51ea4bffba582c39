// Events as JSON text, written from the message descriptors so that a new
// field or event type needs no code here.
//
// The output follows the proto3 JSON mapping with the proto's own field names
// (`src_port`, not `srcPort`), default values omitted and enums by name,
// with these deliberate deviations, chosen so the lines are useful to people
// and to jq without post-processing:
//  - bytes with (tapir.v1.format) FORMAT_IP / FORMAT_MAC / FORMAT_HEX are
//    text ("192.0.2.1", "00:11:22:33:44:55", "a1b2"); other bytes are base64
//    as in the mapping; an IP or MAC of the wrong length falls back to hex;
//  - 64-bit integers are JSON numbers, not strings, so jq can compare them;
//  - google.protobuf.Timestamp is RFC 3339 text (common/time.h), as mapped;
//  - strings that are not valid UTF-8 have each bad byte replaced by U+FFFD
//    so the line is always valid JSON.
#pragma once

#include <string>

#include <google/protobuf/message.h>

namespace tapir::schema {

// Appends `msg` as one JSON object (no newline) to `out`.
void append_json(const google::protobuf::Message& msg, std::string& out);

// The same, as a new string.
std::string to_json(const google::protobuf::Message& msg);

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string_view s, std::string& out);

}  // namespace tapir::schema
