#include "payloads.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string_view>

namespace tapir::workload {
namespace {

void put8(std::vector<uint8_t>& v, uint8_t x) { v.push_back(x); }
void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void put24(std::vector<uint8_t>& v, uint32_t x) {
  v.push_back(static_cast<uint8_t>(x >> 16));
  put16(v, static_cast<uint16_t>(x));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, static_cast<uint16_t>(x >> 16));
  put16(v, static_cast<uint16_t>(x));
}
void put_bytes(std::vector<uint8_t>& v, std::string_view s) { v.insert(v.end(), s.begin(), s.end()); }
void set16(std::vector<uint8_t>& v, size_t at, size_t x) {
  v[at] = static_cast<uint8_t>(x >> 8);
  v[at + 1] = static_cast<uint8_t>(x);
}

const std::vector<std::string> kDomains = {
    "example.com",     "example.net",   "example.org",     "tapir.test",   "cdn.example",
    "mail.example",    "api.example",   "shop.example.com", "news.example", "video.example.net",
    "corp.example.org", "static.example"};
const std::vector<std::string> kLabels = {"www", "api", "cdn", "img", "login", "m", "static",
                                          "assets", "auth", "edge", "eu", "us", "v2", "app"};

// --- DNS ----------------------------------------------------------------------

void put_name(std::vector<uint8_t>& v, std::string_view name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    put8(v, static_cast<uint8_t>(dot - start));
    put_bytes(v, name.substr(start, dot - start));
    start = dot + 1;
  }
  put8(v, 0);
}

constexpr uint16_t kPtrQuestion = 0xc00c;  // compression pointer to the question name

void put_rr_header(std::vector<uint8_t>& v, uint16_t name_ptr, uint16_t type, uint32_t ttl) {
  put16(v, name_ptr);
  put16(v, type);
  put16(v, 1);
  put32(v, ttl);
}
// Starts RDATA; returns where its length goes.
size_t begin_rdata(std::vector<uint8_t>& v) {
  size_t at = v.size();
  put16(v, 0);
  return at;
}
void end_rdata(std::vector<uint8_t>& v, size_t at) { set16(v, at, v.size() - at - 2); }

void put_opt(std::vector<uint8_t>& v, uint16_t udp_size) {
  put8(v, 0);
  put16(v, dnstype::kOpt);
  put16(v, udp_size);
  put32(v, 0);
  put16(v, 0);
}

}  // namespace

std::string pick_host(Rng& rng) {
  std::string d = rng.pick(kDomains);
  if (rng.chance(80)) d = rng.pick(kLabels) + "." + d;
  return d;
}

DnsExchange make_dns(Rng& rng) {
  DnsExchange ex;
  std::string name = pick_host(rng);
  static const std::array<uint16_t, 10> kTypes = {dnstype::kA,    dnstype::kA,   dnstype::kA,
                                                  dnstype::kAaaa, dnstype::kAaaa, dnstype::kA,
                                                  dnstype::kMx,   dnstype::kTxt, dnstype::kA,
                                                  dnstype::kAaaa};
  ex.qtype = kTypes[rng.below(kTypes.size())];
  ex.nxdomain = rng.chance(8);
  bool cname = !ex.nxdomain && (ex.qtype == dnstype::kA || ex.qtype == dnstype::kAaaa) &&
               rng.chance(25);
  bool edns = rng.chance(50);
  if (ex.nxdomain) name = "nx" + std::to_string(rng.below(100000)) + "." + name;
  uint16_t id = static_cast<uint16_t>(rng.next());

  auto& q = ex.query;
  put16(q, id);
  put16(q, 0x0100);  // RD
  put16(q, 1);
  put16(q, 0);
  put16(q, 0);
  put16(q, edns ? 1 : 0);
  put_name(q, name);
  put16(q, ex.qtype);
  put16(q, 1);
  size_t question_end = q.size();
  if (edns) put_opt(q, 1232);

  auto& r = ex.response;
  r.assign(q.begin(), q.begin() + static_cast<long>(question_end));
  uint16_t flags = 0x8180 | (ex.nxdomain ? 3 : 0);  // QR RD RA (+ NXDOMAIN)
  set16(r, 2, flags);
  uint16_t answers = 0, authorities = 0;
  if (ex.nxdomain) {
    authorities = 1;
    put_rr_header(r, kPtrQuestion, dnstype::kSoa, 900);
    size_t at = begin_rdata(r);
    put_name(r, "ns1." + rng.pick(kDomains));
    put_name(r, "hostmaster." + rng.pick(kDomains));
    put32(r, 2024010100 + static_cast<uint32_t>(rng.below(99)));
    put32(r, 7200);
    put32(r, 3600);
    put32(r, 1209600);
    put32(r, 300);
    end_rdata(r, at);
  } else {
    uint16_t owner = kPtrQuestion;
    if (cname) {
      ++answers;
      put_rr_header(r, owner, dnstype::kCname, static_cast<uint32_t>(rng.range(60, 3600)));
      size_t at = begin_rdata(r);
      owner = static_cast<uint16_t>(0xc000 | r.size());
      put_name(r, "edge" + std::to_string(rng.below(64)) + ".cdn.example");
      end_rdata(r, at);
    }
    size_t n = rng.range(1, 4);
    for (size_t i = 0; i < n; ++i) {
      ++answers;
      uint32_t ttl = static_cast<uint32_t>(rng.range(30, 86400));
      put_rr_header(r, owner, ex.qtype, ttl);
      size_t at = begin_rdata(r);
      switch (ex.qtype) {
        case dnstype::kA: {
          // Documentation ranges (RFC 5737): never routable, still realistic.
          static constexpr uint8_t kNets[3][3] = {{192, 0, 2}, {198, 51, 100}, {203, 0, 113}};
          const uint8_t* net = kNets[rng.below(3)];
          r.insert(r.end(), net, net + 3);
          put8(r, static_cast<uint8_t>(rng.range(1, 254)));
          break;
        }
        case dnstype::kAaaa:
          put16(r, 0x2001);
          put16(r, 0x0db8);
          for (int k = 0; k < 5; ++k) put16(r, k == 4 ? static_cast<uint16_t>(rng.next()) : 0);
          put16(r, static_cast<uint16_t>(rng.range(1, 0xfff)));
          break;
        case dnstype::kMx:
          put16(r, static_cast<uint16_t>(10 * (i + 1)));
          put_name(r, "mx" + std::to_string(i + 1) + "." + rng.pick(kDomains));
          break;
        case dnstype::kTxt: {
          std::string txt = i == 0 ? "v=spf1 include:_spf." + rng.pick(kDomains) + " ~all"
                                   : "site-verification=" + std::to_string(rng.next() % 1000000007);
          put8(r, static_cast<uint8_t>(txt.size()));
          put_bytes(r, txt);
          break;
        }
      }
      end_rdata(r, at);
    }
  }
  set16(r, 6, answers);
  set16(r, 8, authorities);
  set16(r, 10, edns ? 1 : 0);
  if (edns) put_opt(r, 1232);
  return ex;
}

// --- TLS ----------------------------------------------------------------------

namespace {

constexpr uint8_t kContentCcs = 20, kContentHandshake = 22, kContentAppData = 23;
constexpr uint16_t kGreaseValues[] = {0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a,
                                      0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada};

void add_record(TlsFlight& f, uint8_t type, uint16_t version, const std::vector<uint8_t>& body) {
  put8(f.bytes, type);
  put16(f.bytes, version);
  put16(f.bytes, static_cast<uint16_t>(body.size()));
  f.bytes.insert(f.bytes.end(), body.begin(), body.end());
  f.ends.push_back(f.bytes.size());
}

// Wraps a handshake message body.
std::vector<uint8_t> handshake(uint8_t type, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> h;
  put8(h, type);
  put24(h, static_cast<uint32_t>(body.size()));
  h.insert(h.end(), body.begin(), body.end());
  return h;
}

void ext(std::vector<uint8_t>& v, uint16_t type, const std::vector<uint8_t>& data) {
  put16(v, type);
  put16(v, static_cast<uint16_t>(data.size()));
  v.insert(v.end(), data.begin(), data.end());
}

std::vector<uint8_t> client_hello(Rng& rng, const std::string& sni, bool offer13,
                                  const std::vector<std::string>& alpn) {
  uint16_t grease = kGreaseValues[rng.below(std::size(kGreaseValues))];
  std::vector<uint8_t> b;
  put16(b, 0x0303);
  auto random = rng.bytes(32);
  b.insert(b.end(), random.begin(), random.end());
  put8(b, 32);
  auto sid = rng.bytes(32);
  b.insert(b.end(), sid.begin(), sid.end());
  std::vector<uint16_t> ciphers = {grease,  0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
                                   0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
                                   0x002f, 0x0035};
  if (!offer13) ciphers.erase(ciphers.begin() + 1, ciphers.begin() + 4);
  put16(b, static_cast<uint16_t>(ciphers.size() * 2));
  for (auto c : ciphers) put16(b, c);
  put8(b, 1);
  put8(b, 0);  // null compression

  std::vector<uint8_t> e;
  ext(e, grease, {});
  {  // server_name
    std::vector<uint8_t> d;
    put16(d, static_cast<uint16_t>(sni.size() + 3));
    put8(d, 0);
    put16(d, static_cast<uint16_t>(sni.size()));
    put_bytes(d, sni);
    ext(e, 0x0000, d);
  }
  ext(e, 0x0017, {});            // extended_master_secret
  ext(e, 0xff01, {0});           // renegotiation_info
  {                              // supported_groups
    std::vector<uint8_t> d;
    put16(d, 8);
    for (uint16_t g : {grease, uint16_t{0x001d}, uint16_t{0x0017}, uint16_t{0x0018}}) put16(d, g);
    ext(e, 0x000a, d);
  }
  ext(e, 0x000b, {1, 0});        // ec_point_formats: uncompressed
  ext(e, 0x0023, {});            // session_ticket
  {                              // ALPN
    std::vector<uint8_t> list;
    for (auto& p : alpn) {
      put8(list, static_cast<uint8_t>(p.size()));
      put_bytes(list, p);
    }
    std::vector<uint8_t> d;
    put16(d, static_cast<uint16_t>(list.size()));
    d.insert(d.end(), list.begin(), list.end());
    ext(e, 0x0010, d);
  }
  ext(e, 0x0005, {1, 0, 0, 0, 0});  // status_request (OCSP)
  {                                 // signature_algorithms
    std::vector<uint8_t> d;
    const uint16_t algs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    put16(d, static_cast<uint16_t>(std::size(algs) * 2));
    for (auto a : algs) put16(d, a);
    ext(e, 0x000d, d);
  }
  ext(e, 0x0012, {});  // signed_certificate_timestamp
  if (offer13) {
    {  // key_share: GREASE (1 byte) + x25519
      std::vector<uint8_t> d;
      auto key = rng.bytes(32);
      put16(d, static_cast<uint16_t>(5 + 36));
      put16(d, grease);
      put16(d, 1);
      put8(d, 0);
      put16(d, 0x001d);
      put16(d, 32);
      d.insert(d.end(), key.begin(), key.end());
      ext(e, 0x0033, d);
    }
    ext(e, 0x002d, {1, 1});  // psk_key_exchange_modes: psk_dhe_ke
    {                        // supported_versions
      std::vector<uint8_t> d;
      put8(d, 6);
      put16(d, grease);
      put16(d, 0x0304);
      put16(d, 0x0303);
      ext(e, 0x002b, d);
    }
  }
  ext(e, grease == 0x0a0a ? 0x1a1a : 0x0a0a, {0});
  put16(b, static_cast<uint16_t>(e.size()));
  b.insert(b.end(), e.begin(), e.end());
  return handshake(1, b);
}

std::vector<uint8_t> server_hello(Rng& rng, const std::vector<uint8_t>& ch, bool tls13,
                                  const std::string& alpn) {
  std::vector<uint8_t> b;
  put16(b, 0x0303);
  auto random = rng.bytes(32);
  b.insert(b.end(), random.begin(), random.end());
  put8(b, 32);
  // Echo the client's session id (TLS 1.3 middlebox compatibility mode).
  b.insert(b.end(), ch.begin() + 4 + 2 + 32 + 1, ch.begin() + 4 + 2 + 32 + 1 + 32);
  put16(b, tls13 ? 0x1301 : 0xc02f);
  put8(b, 0);
  std::vector<uint8_t> e;
  if (tls13) {
    std::vector<uint8_t> ks;
    put16(ks, 0x001d);
    put16(ks, 32);
    auto key = rng.bytes(32);
    ks.insert(ks.end(), key.begin(), key.end());
    ext(e, 0x0033, ks);
    ext(e, 0x002b, {0x03, 0x04});
  } else {
    ext(e, 0xff01, {0});
    ext(e, 0x0017, {});
    ext(e, 0x000b, {1, 0});
    std::vector<uint8_t> d;
    put16(d, static_cast<uint16_t>(alpn.size() + 1));
    put8(d, static_cast<uint8_t>(alpn.size()));
    put_bytes(d, alpn);
    ext(e, 0x0010, d);
  }
  put16(b, static_cast<uint16_t>(e.size()));
  b.insert(b.end(), e.begin(), e.end());
  return handshake(2, b);
}

}  // namespace

TlsFlight make_tls_appdata(Rng& rng, size_t n, size_t max_record) {
  TlsFlight f;
  while (n > 0) {
    size_t len = std::min(n, max_record);
    add_record(f, kContentAppData, 0x0303, rng.bytes(len));
    n -= len;
  }
  return f;
}

TlsHandshake make_tls(Rng& rng) {
  TlsHandshake h;
  h.sni = pick_host(rng);
  h.tls13 = rng.chance(75);
  std::vector<std::string> alpn = rng.chance(70) ? std::vector<std::string>{"h2", "http/1.1"}
                                                 : std::vector<std::string>{"http/1.1"};
  auto ch = client_hello(rng, h.sni, h.tls13 || rng.chance(50), alpn);
  add_record(h.client_hello, kContentHandshake, 0x0301, ch);
  auto sh = server_hello(rng, ch, h.tls13, alpn.front());
  if (h.tls13) {
    add_record(h.server_flight, kContentHandshake, 0x0303, sh);
    add_record(h.server_flight, kContentCcs, 0x0303, {1});
    // EncryptedExtensions, Certificate, CertificateVerify, Finished: opaque here.
    auto enc = make_tls_appdata(rng, rng.range(1800, 4200), 4096);
    for (size_t e : enc.ends) h.server_flight.ends.push_back(h.server_flight.bytes.size() + e);
    h.server_flight.bytes.insert(h.server_flight.bytes.end(), enc.bytes.begin(), enc.bytes.end());
    add_record(h.client_finish, kContentCcs, 0x0303, {1});
    add_record(h.client_finish, kContentAppData, 0x0303, rng.bytes(53));
  } else {
    // ServerHello and ServerHelloDone; the certificate chain and key exchange
    // are left out (optional for the analyzers), which keeps the records valid.
    auto msgs = sh;
    auto done = handshake(14, {});
    msgs.insert(msgs.end(), done.begin(), done.end());
    add_record(h.server_flight, kContentHandshake, 0x0303, msgs);
    // ClientKeyExchange (x25519 public key), CCS, encrypted Finished.
    std::vector<uint8_t> cke_body;
    put8(cke_body, 32);
    auto key = rng.bytes(32);
    cke_body.insert(cke_body.end(), key.begin(), key.end());
    add_record(h.client_finish, kContentHandshake, 0x0303, handshake(16, cke_body));
    add_record(h.client_finish, kContentCcs, 0x0303, {1});
    add_record(h.client_finish, kContentHandshake, 0x0303, rng.bytes(40));
  }
  return h;
}

// --- HTTP ---------------------------------------------------------------------

HttpExchange make_http(Rng& rng, const std::string& host, bool last) {
  static const std::vector<std::string> kPaths = {
      "/", "/index.html", "/api/v1/items", "/static/app.js", "/static/style.css",
      "/images/logo.png", "/login", "/search?q=tapir", "/api/v1/users/42", "/favicon.ico"};
  static const std::vector<std::string> kAgents = {
      "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36",
      "curl/7.88.1", "python-requests/2.28.1"};
  HttpExchange ex;
  bool post = rng.chance(15);
  std::string path = rng.pick(kPaths);
  std::string req = (post ? "POST " : "GET ") + path + " HTTP/1.1\r\nHost: " + host +
                    "\r\nUser-Agent: " + rng.pick(kAgents) + "\r\nAccept: */*\r\n";
  if (rng.chance(40)) req += "Referer: http://" + host + "/\r\n";
  std::string body;
  if (post) {
    body = "{\"id\":" + std::to_string(rng.below(100000)) + ",\"name\":\"item\"}";
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n";
  }
  req += last ? "Connection: close\r\n" : "Connection: keep-alive\r\n";
  ex.request = req + "\r\n" + body;

  uint32_t roll = static_cast<uint32_t>(rng.below(100));
  int status = roll < 75 ? 200 : roll < 85 ? 404 : roll < 93 ? 304 : 301;
  const char* reason = status == 200 ? "OK"
                       : status == 404 ? "Not Found"
                       : status == 304 ? "Not Modified"
                                       : "Moved Permanently";
  std::string resp = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                     "\r\nServer: nginx/1.22.1\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n";
  resp += last ? "Connection: close\r\n" : "Connection: keep-alive\r\n";
  std::string rbody;
  if (status == 200) {
    size_t n = rng.chance(20) ? rng.range(4000, 30000) : rng.range(100, 1200);
    rbody.reserve(n);
    static constexpr std::string_view kText =
        "<p>Tapir: portable, distributed packet capture. Lorem ipsum dolor sit amet.</p>\n";
    while (rbody.size() < n) rbody += kText;
    rbody.resize(n);
    resp += "Content-Type: text/html; charset=utf-8\r\n";
  } else if (status == 404) {
    rbody = "<html><body><h1>404 Not Found</h1></body></html>\n";
    resp += "Content-Type: text/html\r\n";
  } else if (status == 301) {
    resp += "Location: https://" + host + path + "\r\n";
  }
  if (status == 304) {
    ex.response = resp + "\r\n";
    return ex;
  }
  ex.chunked = status == 200 && rng.chance(30);
  if (ex.chunked) {
    resp += "Transfer-Encoding: chunked\r\n\r\n";
    size_t pos = 0;
    while (pos < rbody.size()) {
      size_t n = std::min<size_t>(rbody.size() - pos, rng.range(500, 4000));
      char hex[20];
      std::snprintf(hex, sizeof hex, "%zx\r\n", n);
      resp += hex;
      resp.append(rbody, pos, n);
      resp += "\r\n";
      pos += n;
    }
    resp += "0\r\n\r\n";
  } else {
    resp += "Content-Length: " + std::to_string(rbody.size()) + "\r\n\r\n" + rbody;
  }
  ex.response = resp;
  return ex;
}

}  // namespace tapir::workload
