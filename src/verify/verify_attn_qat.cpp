// attn_qat golden case: Attn-QAT's training attention (quant/attn_qat.h, double precision) against
// py/attn_qat_ref.py on every case of case.json "cases" (heads, sq, sk, d, sm_scale, block_n, v_axis, causal,
// ablations), io tensors "<case>.<name>" in layout S heads D. The forward's O, O' and base-2 LSE (m); dQ, dK,
// dV end to end (our forward's O' and LSE into our backward) and of the backward alone (the reference's O'
// and m into our backward); with ablations, D from O (dq_d_from_o, dk_d_from_o) and dV from P (dv_exact_p).
// The same comparisons as tests/unit/attn_qat_test.cpp's MatchesTheReferenceGoldenVectors.
#include <string>

#include "quant/attn_qat.h"
#include "verify/verifiers.h"

namespace fastwan {
namespace {

using quant::AttnQatParams;

// One entry of "cases": the call and the sizes its io tensors must have.
struct QatCase {
  int heads = 0, sq = 0, sk = 0, d = 0;
  AttnQatParams params;
  bool ablations = false;
};

Expected<QatCase> read_case(const nlohmann::json& j, const std::string& where) {
  QatCase k;
  for (auto [key, value] :
       {std::pair{"heads", &k.heads}, std::pair{"sq", &k.sq}, std::pair{"sk", &k.sk}, std::pair{"d", &k.d}}) {
    FW_ASSIGN_OR_RETURN(*value, int_field(j, key, where));
    if (*value < 1)
      return Error(where + ": field \"" + key + "\" must be positive (got " + j[key].dump() + ")");
  }
  if (k.d % 16 != 0)
    return Error(where + ": field \"d\" must be a multiple of 16 (got " + j["d"].dump() + ")");
  FW_ASSIGN_OR_RETURN(k.params.sm_scale, number_field(j, "sm_scale", where));
  if (!(k.params.sm_scale > 0))
    return Error(where + ": field \"sm_scale\" must be positive (got " + j["sm_scale"].dump() + ")");
  FW_ASSIGN_OR_RETURN(k.params.block_n, int_field(j, "block_n", where));
  if (k.params.block_n < 16 || k.params.block_n % 16 != 0)
    return Error(where + ": field \"block_n\" must be a positive multiple of 16 (got " + j["block_n"].dump() +
                 ")");
  FW_ASSIGN_OR_RETURN(std::string v_axis, string_field(j, "v_axis", where));
  if (v_axis == "tokens")
    k.params.v_axis = quant::QatVAxis::tokens;
  else if (v_axis == "head_dim")
    k.params.v_axis = quant::QatVAxis::head_dim;
  else
    return Error(where + ": field \"v_axis\" must be \"tokens\" or \"head_dim\" (got \"" + v_axis + "\")");
  FW_ASSIGN_OR_RETURN(k.params.causal, bool_field(j, "causal", where));
  FW_ASSIGN_OR_RETURN(k.ablations, bool_field(j, "ablations", where));
  return k;
}

// The io tensor "<case>.<name>", which must have the shape the case's fields give it.
Expected<Tensor> io_tensor(const GoldenCase& c, const std::string& id, const std::string& name,
                           const Shape& shape, const char* dims, const std::string& where) {
  FW_ASSIGN_OR_RETURN(Tensor t, c.tensor(id + "." + name));
  if (t.shape() != shape)
    return Error(where + ": " + id + "." + name + " is " + shape_string(t.shape()) + ", but " + dims +
                 " give " + shape_string(shape));
  return t;
}

Status verify_case(const GoldenCase& c, const std::string& id, const QatCase& k, const std::string& where,
                   VerifyReport& report) {
  const Shape q_shape = {k.sq, k.heads, k.d}, k_shape = {k.sk, k.heads, k.d};
  auto get_q = [&](const char* name) { return io_tensor(c, id, name, q_shape, "sq, heads, d", where); };
  auto get_k = [&](const char* name) { return io_tensor(c, id, name, k_shape, "sk, heads, d", where); };
  FW_ASSIGN_OR_RETURN(Tensor q, get_q("q"));
  FW_ASSIGN_OR_RETURN(Tensor kk, get_k("k"));
  FW_ASSIGN_OR_RETURN(Tensor v, get_k("v"));
  FW_ASSIGN_OR_RETURN(Tensor d_o, get_q("do"));
  FW_ASSIGN_OR_RETURN(Tensor o, get_q("o"));
  FW_ASSIGN_OR_RETURN(Tensor o_prime, get_q("o_prime"));
  FW_ASSIGN_OR_RETURN(Tensor m, io_tensor(c, id, "m", {k.sq, k.heads}, "sq, heads", where));
  FW_ASSIGN_OR_RETURN(Tensor dq, get_q("dq"));
  FW_ASSIGN_OR_RETURN(Tensor dk, get_k("dk"));
  FW_ASSIGN_OR_RETURN(Tensor dv, get_k("dv"));

  const AttnQatParams& p = k.params;
  const auto f = quant::attn_qat_forward(q, kk, v, p);
  // End to end: our forward's O' and LSE into our backward; the backward alone: the reference's O, O' and M.
  const auto g = quant::attn_qat_backward(q, kk, v, f.o, f.o_prime, f.lse, d_o, p);
  auto backward_alone = [&](const AttnQatParams& params) {
    return quant::attn_qat_backward(q, kk, v, o, o_prime, m, d_o, params);
  };
  const auto gr = backward_alone(p);
  // The reference rounds its outputs, p for O' and l, and dS to bf16 (~1e-3 each); the scale of its M is
  // the bf16-rounded p of a row, which for rows of a few keys is off by up to 2^-9 (2.8e-3 in log2). dS's
  // rounding is amplified in dQ by K's channel bias (case a), and dV end to end by the 16-blocks of fq(P)
  // near the E4M3 threshold that the M difference flips (Appendix B); fed the reference's M, dV is 1.7e-3.
  const std::string n = id + ".";
  report.compare(n + "o", f.o, o, 3e-3, Metric::rel_l2);
  report.compare(n + "o_prime", f.o_prime, o_prime, 3e-3, Metric::rel_l2);
  report.compare(n + "m", f.lse, m, 3e-3, Metric::max_abs);
  report.compare(n + "dq (end to end)", g.dq, dq, 6e-3, Metric::rel_l2);
  report.compare(n + "dk (end to end)", g.dk, dk, 6e-3, Metric::rel_l2);
  report.compare(n + "dv (end to end)", g.dv, dv, 1.5e-2, Metric::rel_l2);
  report.compare(n + "dq (backward alone)", gr.dq, dq, 6e-3, Metric::rel_l2);
  report.compare(n + "dk (backward alone)", gr.dk, dk, 6e-3, Metric::rel_l2);
  report.compare(n + "dv (backward alone)", gr.dv, dv, 3e-3, Metric::rel_l2);
  if (!k.ablations) return Status::Ok();
  FW_ASSIGN_OR_RETURN(Tensor dq_d_from_o, get_q("dq_d_from_o"));
  FW_ASSIGN_OR_RETURN(Tensor dk_d_from_o, get_k("dk_d_from_o"));
  FW_ASSIGN_OR_RETURN(Tensor dv_exact_p, get_k("dv_exact_p"));
  AttnQatParams d_from_o = p, dv_from_p = p;
  d_from_o.d_from = quant::QatDFrom::o;
  dv_from_p.dv_p = quant::QatDvP::exact;
  const auto go = backward_alone(d_from_o), gp = backward_alone(dv_from_p);
  report.compare(n + "dq_d_from_o", go.dq, dq_d_from_o, 3e-3, Metric::rel_l2);
  report.compare(n + "dk_d_from_o", go.dk, dk_d_from_o, 3e-3, Metric::rel_l2);
  report.compare(n + "dv_exact_p", gp.dv, dv_exact_p, 3e-3, Metric::rel_l2);
  return Status::Ok();
}

}  // namespace

Expected<VerifyReport> verify_attn_qat(const GoldenCase& c, const VerifyOptions&) {
  const std::string meta = c.name + "/case.json";
  auto cases = c.meta.find("cases");
  if (cases == c.meta.end() || !cases->is_object() || cases->empty())
    return Error(meta + ": missing object field \"cases\" (one entry per case: {\"a\": {\"heads\": ...}})");
  VerifyReport report;
  for (const auto& [id, entry] : cases->items()) {
    const std::string where = meta + " cases." + id;
    if (!entry.is_object()) return Error(where + ": expected an object (got " + entry.dump() + ")");
    FW_ASSIGN_OR_RETURN(QatCase k, read_case(entry, where));
    FW_RETURN_IF_ERROR(verify_case(c, id, k, where, report));
  }
  return report;
}

}  // namespace fastwan
