// tapir certs: a small private CA for agent <-> collector mutual TLS, built
// with the OpenSSL 3 library. `init` creates the CA, a collector certificate
// and N agent certificates; `issue-agent` adds one more agent.
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"

namespace tapir::cli {
namespace {

namespace fs = std::filesystem;

// Two years and a bit: under the 825-day ceiling browsers and many TLS
// stacks still apply to leaf certificates. The CA lives ten years.
constexpr int kDefaultLeafDays = 825;
constexpr int kCaDays = 3650;
// Leaves start a little in the past so that a peer whose clock lags is not refused.
constexpr long kBackdateSeconds = 300;

struct Pkey {
  EVP_PKEY* p = nullptr;
  ~Pkey() { EVP_PKEY_free(p); }
};
struct Cert {
  X509* x = nullptr;
  ~Cert() { X509_free(x); }
};

[[noreturn]] void fail(const std::string& what) {
  unsigned long e = ERR_get_error();
  std::string msg = what;
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += std::string(": ") + buf;
  }
  throw std::runtime_error(msg);
}

EVP_PKEY* new_key() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) fail("generating a P-256 key");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) fail("certificate extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Issues a certificate for `key` signed by `ca_key` (self-signed when `ca` is null).
X509* issue(EVP_PKEY* key, const std::string& cn, X509* ca, EVP_PKEY* ca_key, long days,
            bool is_ca, const std::string& eku, const std::string& san) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("random serial");
  serial[0] &= 0x7F;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  long not_after = days * 86400;
  long not_before = -kBackdateSeconds;
  // An already expired certificate (negative days) still needs not-before < not-after.
  if (not_after <= not_before) not_before = not_after - 86400;
  X509_gmtime_adj(X509_getm_notBefore(x), not_before);
  X509_gmtime_adj(X509_getm_notAfter(x), not_after);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Tapir"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer = ca ? ca : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer));
  if (is_ca) {
    add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(x, issuer, NID_ext_key_usage, eku);
    if (!san.empty()) add_ext(x, issuer, NID_subject_alt_name, san);
  }
  add_ext(x, issuer, NID_subject_key_identifier, "hash");
  if (ca) add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) == 0) fail("signing " + cn);
  return x;
}

FILE* create_file(const fs::path& p, mode_t mode) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) fail(p.string() + ": cannot create");
  ::fchmod(fd, mode);  // also when the file existed with other bits
  FILE* f = ::fdopen(fd, "w");
  if (!f) fail(p.string() + ": cannot open");
  return f;
}

void write_key(const fs::path& p, EVP_PKEY* k) {
  FILE* f = create_file(p, 0600);
  bool ok = PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (std::fclose(f) != 0 || !ok) fail(p.string() + ": write failed");
}

void write_cert(const fs::path& p, X509* x) {
  FILE* f = create_file(p, 0644);
  bool ok = PEM_write_X509(f, x) == 1;
  if (std::fclose(f) != 0 || !ok) fail(p.string() + ": write failed");
}

void load_ca(const fs::path& dir, Cert& ca, Pkey& key) {
  FILE* f = std::fopen((dir / "ca.pem").c_str(), "r");
  if (!f) throw std::runtime_error((dir / "ca.pem").string() + ": missing (run `tapir certs init` first)");
  ca.x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen((dir / "ca.key").c_str(), "r");
  if (!f) throw std::runtime_error((dir / "ca.key").string() + ": missing");
  key.p = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!ca.x || !key.p) fail("reading the CA in " + dir.string());
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

void issue_agent(const fs::path& dir, const std::string& id, long days, X509* ca, EVP_PKEY* ca_key) {
  if (!valid_id(id))
    throw std::runtime_error("agent id '" + id + "': use 1-64 letters, digits, '-', '_' or '.'");
  Pkey k;
  k.p = new_key();
  Cert c;
  c.x = issue(k.p, id, ca, ca_key, days, false, "clientAuth", "DNS:" + id);
  fs::path sub = dir / "agents";
  std::error_code ec;
  fs::create_directories(sub, ec);
  if (ec) throw std::runtime_error(sub.string() + ": " + ec.message());
  write_key(sub / (id + ".key"), k.p);
  write_cert(sub / (id + ".pem"), c.x);
  std::printf("agent     %-20s %s, %s\n", id.c_str(), (sub / (id + ".pem")).c_str(),
              (sub / (id + ".key")).c_str());
}

std::string san_for(const std::vector<std::string>& names) {
  std::vector<std::string> all = names;
  for (const char* d : {"localhost", "127.0.0.1", "::1"}) all.push_back(d);
  std::string san;
  std::vector<std::string> seen;
  for (const auto& n : all) {
    if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
    seen.push_back(n);
    bool ip = n.find(':') != std::string::npos ||
              n.find_first_not_of("0123456789.") == std::string::npos;
    if (!san.empty()) san += ",";
    san += (ip ? "IP:" : "DNS:") + n;
  }
  return san;
}

struct InitOptions {
  std::string dir;
  std::vector<std::string> collector_names;
  int agents = 1;
  std::vector<std::string> agent_ids;
  long days = kDefaultLeafDays;
  bool force = false;
};

int run_init(const InitOptions& o) {
  fs::path dir = o.dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(o.dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  if (fs::exists(dir / "ca.key") && !o.force)
    throw std::runtime_error((dir / "ca.key").string() +
                             " exists; use `tapir certs issue-agent` to add agents, or --force "
                             "to start a new CA (every certificate must then be replaced)");
  Pkey ca_key;
  ca_key.p = new_key();
  Cert ca;
  ca.x = issue(ca_key.p, "Tapir CA", nullptr, nullptr, kCaDays, true, "", "");
  write_key(dir / "ca.key", ca_key.p);
  write_cert(dir / "ca.pem", ca.x);
  std::printf("CA        %-20s %s (keep %s offline if you can)\n", "Tapir CA",
              (dir / "ca.pem").c_str(), (dir / "ca.key").c_str());

  std::string cn = o.collector_names.empty() ? "localhost" : o.collector_names.front();
  Pkey ck;
  ck.p = new_key();
  Cert cc;
  cc.x = issue(ck.p, cn, ca.x, ca_key.p, o.days, false, "serverAuth", san_for(o.collector_names));
  write_key(dir / "collector.key", ck.p);
  write_cert(dir / "collector.pem", cc.x);
  std::printf("collector %-20s %s, %s\n", cn.c_str(), (dir / "collector.pem").c_str(),
              (dir / "collector.key").c_str());

  std::vector<std::string> ids = o.agent_ids;
  if (ids.empty())
    for (int i = 1; i <= o.agents; ++i) ids.push_back("agent-" + std::to_string(i));
  for (const auto& id : ids) issue_agent(dir, id, o.days, ca.x, ca_key.p);
  return 0;
}

const RegisterCommand reg{{[](CLI::App& app) -> std::function<int()> {
  auto* certs = app.add_subcommand("certs", "Certificates for agent <-> collector mutual TLS");
  certs->require_subcommand(1);
  auto init_opts = std::make_shared<InitOptions>();
  auto* init = certs->add_subcommand(
      "init", "Create a CA, a collector certificate and agent certificates in --dir");
  init->add_option("--dir", init_opts->dir, "Output directory (created, mode 0700)")->required();
  init->add_option("--collector-name", init_opts->collector_names,
                   "DNS name or IP address of the collector (repeatable; localhost, 127.0.0.1 "
                   "and ::1 are always included)");
  init->add_option("--agents", init_opts->agents, "Agent certificates agent-1..agent-N to issue")
      ->check(CLI::Range(0, 10000));
  init->add_option("--agent", init_opts->agent_ids, "Agent id to issue instead (repeatable; CN = id)");
  init->add_option("--days", init_opts->days, "Validity of collector and agent certificates in days");
  init->add_flag("--force", init_opts->force, "Replace an existing CA");

  struct IssueOptions {
    std::string dir, id;
    long days = kDefaultLeafDays;
  };
  auto issue_opts = std::make_shared<IssueOptions>();
  auto* one = certs->add_subcommand("issue-agent", "Issue one more agent certificate from the CA in --dir");
  one->add_option("--dir", issue_opts->dir, "Directory holding ca.pem and ca.key")->required();
  one->add_option("--id", issue_opts->id, "Agent id (certificate CN)")->required();
  one->add_option("--days", issue_opts->days,
                  "Validity in days; 0 or negative issues an already expired certificate (tests)");

  return [=]() -> int {
    if (init->parsed()) return run_init(*init_opts);
    Cert ca;
    Pkey key;
    load_ca(issue_opts->dir, ca, key);
    issue_agent(issue_opts->dir, issue_opts->id, issue_opts->days, ca.x, key.p);
    return 0;
  };
}}};

}  // namespace
}  // namespace tapir::cli
