// API bearer tokens: random, shown once, stored only as a SHA-256 hash.
#pragma once

#include <string>

namespace tapir::api {

// A new token: 32 random bytes as hex, prefixed "tpr_" so it is recognisable in logs and
// secret scanners.
std::string generate_token();
// Lower-case hex SHA-256 of the token, the form the store keeps.
std::string hash_token(const std::string& token);

}  // namespace tapir::api
