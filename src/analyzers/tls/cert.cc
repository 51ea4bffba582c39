#include "analyzers/tls/cert.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <memory>

namespace tapir::analyzers::tls {

namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

// RFC 2253 order and escaping, but UTF-8 left as is (as Zeek prints names).
std::string name_string(const X509_NAME* name) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || name == nullptr) return {};
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

bool asn1_time_to_epoch(const ASN1_TIME* t, int64_t& out) {
  struct tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  out = static_cast<int64_t>(timegm(&tm));
  return true;
}

std::string digest(const unsigned char* der, size_t len, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(der, len, out, &n, md, nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out), n);
}

}  // namespace

bool parse_certificate(Bytes der, CertInfo& out, std::string& err) {
  if (der.size() > LONG_MAX) {
    err = "certificate too large";
    return false;
  }
  const unsigned char* p = der.data();
  std::unique_ptr<X509, X509Free> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) {
    err = "not a DER X.509 certificate";
    return false;
  }
  out.subject = name_string(X509_get_subject_name(x.get()));
  out.issuer = name_string(X509_get_issuer_name(x.get()));
  if (const ASN1_INTEGER* serial = X509_get0_serialNumber(x.get())) {
    BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
    if (bn != nullptr) {
      char* hex = BN_bn2hex(bn);
      if (hex != nullptr) {
        out.serial = hex;
        OPENSSL_free(hex);
      }
      BN_free(bn);
    }
  }
  asn1_time_to_epoch(X509_get0_notBefore(x.get()), out.not_before);
  asn1_time_to_epoch(X509_get0_notAfter(x.get()), out.not_after);

  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    const int n = sk_GENERAL_NAME_num(names);
    for (int i = 0; i < n && out.sans.size() < kMaxSans; ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
      if (g->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = g->d.dNSName;
      out.sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                            static_cast<size_t>(ASN1_STRING_length(s)));
    }
    GENERAL_NAMES_free(names);
  }

  if (EVP_PKEY* key = X509_get0_pubkey(x.get())) {
    switch (EVP_PKEY_get_base_id(key)) {
      case EVP_PKEY_RSA: out.key_type = "rsa"; break;
      case EVP_PKEY_EC: out.key_type = "ec"; break;
      case EVP_PKEY_DSA: out.key_type = "dsa"; break;
      case EVP_PKEY_ED25519: out.key_type = "ed25519"; break;
      case EVP_PKEY_ED448: out.key_type = "ed448"; break;
      default: out.key_type = "unknown"; break;
    }
    const int bits = EVP_PKEY_get_bits(key);
    out.key_bits = bits > 0 ? static_cast<uint32_t>(bits) : 0;
  }
  out.sha256 = digest(der.data(), der.size(), EVP_sha256());
  out.sha1 = digest(der.data(), der.size(), EVP_sha1());
  return true;
}

}  // namespace tapir::analyzers::tls
