#include "api/token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "schema/columns.h"

namespace tapir::api {

std::string generate_token() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) throw std::runtime_error("no randomness for a token");
  return "tpr_" + schema::hex_encode(std::string_view(reinterpret_cast<char*>(buf), sizeof buf));
}

std::string hash_token(const std::string& token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("sha256 failed");
  return schema::hex_encode(std::string_view(reinterpret_cast<char*>(md), len));
}

}  // namespace tapir::api
