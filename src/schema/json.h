// Events as JSON text: the one JSON writer, used by `tapir decode`, for the
// store's JSON columns (repeated and map fields) and so by the query API.
// Written from the message descriptors so that a new field or event type
// needs no code here. Its rules (docs/cli.md, "JSON lines"):
//  - proto field names (`src_port`), default values omitted at every level,
//    enums by name (an unknown number as a number);
//  - bytes as text: (tapir.v1.format) FORMAT_IP as "192.0.2.1" or RFC 5952,
//    FORMAT_MAC as "00:11:22:33:44:55", anything else (FORMAT_HEX, no
//    format, an address of the wrong length) as lower-case hex;
//  - 64-bit integers as JSON numbers, not strings, so jq can compare them;
//  - google.protobuf.Timestamp as RFC 3339 text (common/time.h); NaN and
//    infinities as "NaN", "Infinity", "-Infinity"; maps as objects;
//  - strings: quote, backslash and controls JSON-escaped; a byte that is not
//    valid UTF-8 (never in a parsed message, possible in one built in
//    memory) is written as the analyzers' escaping writes it, `\xNN` (JSON
//    "\\xNN"), so every output is valid JSON and valid UTF-8.
#pragma once

#include <string>

#include <google/protobuf/message.h>

namespace tapir::schema {

// Appends `msg` as one JSON object (no newline) to `out`.
void append_json(const google::protobuf::Message& msg, std::string& out);

// The same, as a new string.
std::string to_json(const google::protobuf::Message& msg);

// Appends the value of field `fd` of `msg`: an array for a repeated field,
// an object for a map or a message, a scalar otherwise (the store's JSON
// columns).
void append_field_json(const google::protobuf::Message& msg,
                       const google::protobuf::FieldDescriptor* fd, std::string& out);

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string_view s, std::string& out);

}  // namespace tapir::schema
