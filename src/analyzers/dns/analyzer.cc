#include "analyzers/dns/analyzer.h"

#include <algorithm>
#include <cctype>

#include "analyzers/event_util.h"

namespace tapir::analyzers::dns {

// The parser's anomaly numbers are the proto's, so they convert by value.
static_assert(static_cast<int>(Anomaly::kTruncated) == v1::DNS_TRUNCATED);
static_assert(static_cast<int>(Anomaly::kBadPointer) == v1::DNS_BAD_POINTER);
static_assert(static_cast<int>(Anomaly::kPointerLoop) == v1::DNS_POINTER_LOOP);
static_assert(static_cast<int>(Anomaly::kNameTooLong) == v1::DNS_NAME_TOO_LONG);
static_assert(static_cast<int>(Anomaly::kInvalidOpcode) == v1::DNS_INVALID_OPCODE);
static_assert(static_cast<int>(Anomaly::kBadRdata) == v1::DNS_BAD_RDATA);
static_assert(static_cast<int>(Anomaly::kTrailingBytes) == v1::DNS_TRAILING_BYTES);
static_assert(static_cast<int>(Anomaly::kBadLabelType) == v1::DNS_BAD_LABEL_TYPE);
static_assert(static_cast<int>(Anomaly::kUnsolicitedResponse) == v1::DNS_UNSOLICITED_RESPONSE);
static_assert(static_cast<int>(Anomaly::kDuplicateResponse) == v1::DNS_DUPLICATE_RESPONSE);
static_assert(static_cast<int>(Anomaly::kWorkLimit) == v1::DNS_WORK_LIMIT);
static_assert(kAnomalyCount == v1::DnsAnomaly_ARRAYSIZE);

namespace {

bool same_name(const std::string& a, const std::string& b) {
  // Resolvers may randomise the case of the query name (DNS 0x20); servers
  // echo it, but matching case-insensitively costs nothing and is safer.
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Whether a response answers a query: same id and same first question. A
// response with no question section (FORMERR, some NOTIMP) matches by id.
bool answers(const Message& query, const Message& resp) {
  if (query.header.id != resp.header.id) return false;
  if (resp.questions.empty() || query.questions.empty()) return true;
  const Question& a = query.questions[0];
  const Question& b = resp.questions[0];
  return a.type == b.type && a.klass == b.klass && same_name(a.name, b.name);
}

flow::Direction other(flow::Direction d) {
  return d == flow::Direction::kFromOriginator ? flow::Direction::kFromResponder
                                               : flow::Direction::kFromOriginator;
}

void copy_records(const std::vector<Record>& from,
                  google::protobuf::RepeatedPtrField<v1::DnsRecord>* to) {
  to->Reserve(static_cast<int>(from.size()));
  for (const Record& r : from) {
    v1::DnsRecord* o = to->Add();
    o->set_name(r.name);
    o->set_type(r.type);
    o->set_class_(r.klass);
    o->set_ttl(r.ttl);
    o->set_data(r.data);
  }
}

}  // namespace

DnsFlowState::~DnsFlowState() {
  if (owner_ != nullptr) owner_->untrack(this);
}

void DnsFlowState::on_message(flow::Direction dir, Bytes data, TimeNs ts) {
  if (owner_ == nullptr) return;
  // Without a header there is nothing to pair or report.
  if (!parse_message(data, scratch_)) return;
  if (!scratch_.header.qr()) {
    if (live_ >= kMaxPendingPerFlow) {
      emit(&pending_[0], nullptr, dir, 0, {});
      remove_pending(0);
    }
    if (live_ == pending_.size()) pending_.emplace_back();
    PendingQuery& q = pending_[live_++];
    q.ts = ts;
    q.dir = dir;
    std::swap(q.msg, scratch_);  // scratch_ takes the spare's buffers
    owner_->track(this);
    return;
  }
  for (size_t i = 0; i < live_; ++i) {
    PendingQuery& q = pending_[i];
    if (q.dir != dir && answers(q.msg, scratch_)) {
      emit(&q, &scratch_, dir, ts, {});
      remember_answered(scratch_);
      remove_pending(i);
      if (live_ == 0) owner_->untrack(this);
      return;
    }
  }
  AnomalySet extra;
  const Question* q = scratch_.questions.empty() ? nullptr : &scratch_.questions[0];
  bool duplicate = false;
  for (size_t i = 0; i < answered_count_; ++i) {
    const Answered& a = answered_[i];
    if (a.id == scratch_.header.id &&
        (q == nullptr || (a.qtype == q->type && same_name(a.qname, q->name)))) {
      duplicate = true;
      break;
    }
  }
  extra.add(duplicate ? Anomaly::kDuplicateResponse : Anomaly::kUnsolicitedResponse);
  emit(nullptr, &scratch_, dir, ts, extra);
  if (!duplicate) remember_answered(scratch_);
}

void DnsFlowState::remove_pending(size_t i) {
  std::rotate(pending_.begin() + static_cast<std::ptrdiff_t>(i),
              pending_.begin() + static_cast<std::ptrdiff_t>(i) + 1,
              pending_.begin() + static_cast<std::ptrdiff_t>(live_));
  --live_;
}

void DnsFlowState::remember_answered(const Message& resp) {
  Answered& a = answered_[answered_next_];
  answered_next_ = (answered_next_ + 1) % answered_.size();
  if (answered_count_ < answered_.size()) ++answered_count_;
  a.id = resp.header.id;
  a.qtype = 0;
  a.qname.clear();
  if (!resp.questions.empty()) {
    a.qtype = resp.questions[0].type;
    a.qname = resp.questions[0].name;
  }
}

void DnsFlowState::on_stream_data(flow::Direction dir, const uint8_t* data, size_t len, TimeNs ts) {
  const int d = flow::dir_index(dir);
  std::string& b = buf_[d];
  size_t off = 0;
  if (desynced_[d]) {
    // After a gap the framing is lost; pick it up again only where a length
    // prefix is followed by a plausible message start.
    if (len < 2 + kHeaderLen) return;
    const size_t mlen = load_be16(data);
    if (mlen < kHeaderLen || !looks_like_dns(Bytes(data + 2, std::min(mlen, len - 2)))) return;
    desynced_[d] = false;
    b.clear();
  }
  // Each pass consumes at least one byte.
  while (off < len) {
    if (b.empty() && len - off >= 2) {
      const size_t mlen = load_be16(data + off);
      if (len - off >= 2 + mlen) {  // a whole message in place: no copy
        on_message(dir, Bytes(data + off + 2, mlen), ts);
        off += 2 + mlen;
        continue;
      }
    }
    const size_t want =
        b.size() < 2 ? 2 - b.size() : 2 + load_be16(reinterpret_cast<const uint8_t*>(b.data())) - b.size();
    const size_t take = std::min(want, len - off);
    b.append(reinterpret_cast<const char*>(data + off), take);
    off += take;
    if (b.size() >= 2) {
      const auto* p = reinterpret_cast<const uint8_t*>(b.data());
      const size_t mlen = load_be16(p);
      if (b.size() == 2 + mlen) {
        on_message(dir, Bytes(p + 2, mlen), ts);
        b.clear();
      }
    }
  }
}

void DnsFlowState::on_stream_gap(flow::Direction dir, uint64_t /*len*/) {
  const int d = flow::dir_index(dir);
  buf_[d].clear();
  desynced_[d] = true;
}

void DnsFlowState::expire(TimeNs before) {
  // Oldest first; timestamps out of capture order are handled by scanning all.
  for (size_t i = 0; i < live_;) {
    if (before == 0 || pending_[i].ts < before) {
      emit(&pending_[i], nullptr, pending_[i].dir, 0, {});
      remove_pending(i);
    } else {
      ++i;
    }
  }
  if (live_ == 0 && owner_ != nullptr) owner_->untrack(this);
}

void DnsFlowState::emit(const PendingQuery* pq, const Message* r, flow::Direction rdir,
                        TimeNs rts, AnomalySet extra) {
  if (owner_ == nullptr) return;
  const AnalyzerContext& ctx = owner_->context();
  if (ctx.sink == nullptr || !ctx.sink->wants(v1::Event::kDns)) return;
  const Message* q = pq != nullptr ? &pq->msg : nullptr;
  const flow::Direction client = pq != nullptr ? pq->dir : other(rdir);
  const TimeNs ts = pq != nullptr ? pq->ts : rts;

  v1::Event* e = ctx.sink->begin();
  v1::Dns& m = *e->mutable_dns();
  fill_flow_header(m, *flow_, ts, ctx.sampling_rate, client == flow::Direction::kFromResponder);

  const Message& first = q != nullptr ? *q : *r;
  m.set_trans_id(first.header.id);
  m.set_opcode(first.header.opcode());
  m.set_has_query(q != nullptr);
  m.set_has_response(r != nullptr);
  const Message* qs = q != nullptr && !q->questions.empty() ? q : r;
  if (qs == nullptr || qs->questions.empty()) qs = &first;
  if (!qs->questions.empty()) {
    const Question& q0 = qs->questions[0];
    m.set_query(q0.name);
    m.set_qtype(q0.type);
    m.set_qtype_name(type_name(q0.type));
    m.set_qclass(q0.klass);
  }
  for (const Question& x : qs->questions) {
    v1::DnsRecord* o = m.add_questions();
    o->set_name(x.name);
    o->set_type(x.type);
    o->set_class_(x.klass);
  }
  m.set_rd(first.header.rd());
  m.set_cd(first.header.cd());
  m.set_tc(r != nullptr ? r->header.tc() : first.header.tc());
  AnomalySet an = extra;
  if (q != nullptr) {
    m.set_query_len(static_cast<uint32_t>(q->length));
    if (q->edns.present) {
      m.set_edns_udp_size(q->edns.udp_size);
      m.set_edns_do(q->edns.do_bit);
    }
    an.merge(q->anomalies);
  }
  if (r != nullptr) {
    m.set_rcode(r->full_rcode());
    m.set_rcode_name(rcode_name(r->full_rcode()));
    m.set_aa(r->header.aa());
    m.set_ra(r->header.ra());
    m.set_ad(r->header.ad());
    m.set_response_len(static_cast<uint32_t>(r->length));
    if (pq != nullptr && rts >= pq->ts) m.set_rtt_us(static_cast<uint64_t>((rts - pq->ts) / 1000));
    copy_records(r->answers, m.mutable_answers());
    copy_records(r->authorities, m.mutable_authorities());
    copy_records(r->additionals, m.mutable_additionals());
    uint32_t min_ttl = 0;
    bool any = false;
    for (const Record& a : r->answers) {
      m.add_answer_data(a.data);
      if (!any || a.ttl < min_ttl) min_ttl = a.ttl;
      any = true;
    }
    m.set_min_ttl(min_ttl);
    an.merge(r->anomalies);
  }
  for (int i = 1; i < kAnomalyCount; ++i)
    if (an.has(static_cast<Anomaly>(i))) m.add_anomalies(static_cast<v1::DnsAnomaly>(i));
  ctx.sink->commit(e);
}

DnsAnalyzer::~DnsAnalyzer() {
  for (DnsFlowState* s : with_pending_) s->detach();
}

bool DnsAnalyzer::claim(const PacketView& v) {
  if (v.flow == nullptr) return false;
  const decode::Packet& p = v.pkt;
  auto dns_port = [](uint16_t port) {
    return port == kPortDns || port == kPortMdns || port == kPortLlmnr;
  };
  const bool by_port = dns_port(p.src_port) || dns_port(p.dst_port);
  if (!by_port && (p.src_port == kPortNetbiosNs || p.dst_port == kPortNetbiosNs)) return false;
  const Bytes payload(p.payload, p.payload_len);
  bool ok = false;
  if (p.is_udp()) {
    ok = by_port ? payload.size() >= kHeaderLen : looks_like_dns(payload);
  } else if (p.is_tcp()) {
    ok = by_port || (payload.size() >= 2 + kHeaderLen && looks_like_dns(payload.subspan(2)));
  }
  if (!ok) return false;
  v.flow->app_proto = "dns";
  v.flow->app_state = std::make_unique<DnsFlowState>(this, v.flow);
  return true;
}

void DnsAnalyzer::on_flow_packet(const PacketView& v) {
  if (v.flow == nullptr || !v.pkt.is_udp() || v.pkt.payload_len == 0) return;
  auto* s = dynamic_cast<DnsFlowState*>(v.flow->app_state.get());
  if (s != nullptr) s->on_message(v.dir, Bytes(v.pkt.payload, v.pkt.payload_len), v.pkt.ts);
}

void DnsAnalyzer::on_flow_end(flow::FlowRecord& f) {
  // An active-timeout report: the flow goes on, and so do its queries.
  if (f.end_reason == flow::EndReason::kActive) return;
  auto* s = dynamic_cast<DnsFlowState*>(f.app_state.get());
  if (s != nullptr) s->expire(0);
}

void DnsAnalyzer::on_tick(TimeNs now) {
  if (with_pending_.empty() || now < kQueryTimeout) return;
  // expire() untracks emptied states, so walk a copy.
  std::vector<DnsFlowState*> states(with_pending_.begin(), with_pending_.end());
  for (DnsFlowState* s : states) s->expire(now - kQueryTimeout);
}

void DnsAnalyzer::on_shutdown() {
  std::vector<DnsFlowState*> states(with_pending_.begin(), with_pending_.end());
  for (DnsFlowState* s : states) s->expire(0);
}

TAPIR_REGISTER_ANALYZER("dns", "DNS over UDP and TCP (also mDNS, LLMNR, odd ports by sniffing)",
                        [](const AnalyzerContext& ctx) -> std::unique_ptr<Analyzer> {
                          return std::make_unique<DnsAnalyzer>(ctx);
                        });

}  // namespace tapir::analyzers::dns
