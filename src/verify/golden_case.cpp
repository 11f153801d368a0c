#include "verify/golden_case.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "io/json_config.h"

namespace fastwan {
namespace fs = std::filesystem;

namespace {

// case.json "modes" and "tolerance" (golden README, "Cases in a precision mode").
Status read_modes(const std::string& meta_path, GoldenCase& c) {
  if (c.meta.contains("modes")) {
    const auto& m = c.meta["modes"];
    if (!m.is_object())
      return Error(meta_path + ": \"modes\" must be an object such as {\"linear\": \"fp8\"}");
    for (const auto& [key, value] : m.items()) {
      if (!value.is_string()) return Error(meta_path + ": modes." + key + " must be a string");
      const std::string v = value.get<std::string>();
      if (key == "linear") {
        auto mode = quant::parse_linear_mode(v);
        if (!mode)
          return Error(meta_path + ": linear mode '" + v + "' is not known to this build (expected " +
                       std::string(quant::linear_mode_values()) + ")");
        c.modes.linear = *mode;
      } else if (key == "attention") {
        auto mode = quant::parse_attention_mode(v);
        if (!mode)
          return Error(meta_path + ": attention mode '" + v + "' is not known to this build (expected " +
                       std::string(quant::attention_mode_values()) + ")");
        c.modes.attention = *mode;
      } else {
        return Error(meta_path + ": unknown mode kind '" + key + "' (expected linear or attention)");
      }
    }
    c.has_modes = true;
  }
  if (c.meta.contains("tolerance")) {
    const auto& t = c.meta["tolerance"];
    if (!t.is_object() || t.value("metric", "") != "rel_l2" || !t.contains("max") || !t["max"].is_number() ||
        !(t["max"].get<double>() > 0))
      return Error(meta_path +
                   ": \"tolerance\" must be {\"metric\": \"rel_l2\", \"max\": a positive number}");
    c.tolerance = CaseTolerance{t["max"].get<double>()};
  }
  return Status::Ok();
}

}  // namespace

Expected<GoldenCase> GoldenCase::load(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error(dir + ": not a folder (expected a golden case folder)");
  GoldenCase c;
  // Normalized without a trailing slash, so that sibling cases (dit_case) resolve from its parent.
  fs::path normal = fs::path(dir).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  c.dir = normal.string();
  c.name = normal.filename().string();
  const std::string case_json = (fs::path(dir) / "case.json").string();
  const std::string cases_json = (fs::path(dir) / "cases.json").string();
  const std::string meta_path = fs::exists(case_json) ? case_json : cases_json;
  if (!fs::exists(meta_path)) return Error(dir + ": no case.json (or cases.json) in the folder");
  FW_ASSIGN_OR_RETURN(c.meta, read_json_file(meta_path));
  if (!c.meta.is_object() || !c.meta.contains("component") || !c.meta["component"].is_string())
    return Error(meta_path + ": missing string field \"component\"");
  c.component = c.meta["component"].get<std::string>();
  FW_RETURN_IF_ERROR(read_modes(meta_path, c));
  const std::string io = (fs::path(dir) / "io.safetensors").string();
  if (fs::exists(io)) {
    FW_ASSIGN_OR_RETURN(auto store, WeightStore::open(io));
    c.io = std::move(store);
  }
  return c;
}

Expected<Tensor> GoldenCase::tensor(const std::string& name) const {
  if (!io) return Error(name + ": case " + this->name + " has no io.safetensors");
  FW_ASSIGN_OR_RETURN(Tensor t, io->get(name));
  return t.to_f32();
}

std::string GoldenCase::path(const std::string& file) const {
  return (fs::path(dir) / file).string();
}

namespace {

// `j[key]` when it holds what `is` accepts, else an error naming `where`, the field and what it must be.
template <typename T, typename Is>
Expected<T> typed_field(const nlohmann::json& j, const std::string& key, const std::string& where,
                        const char* kind, Is is) {
  if (!j.is_object() || !j.contains(key))
    return Error(where + ": missing " + kind + " field \"" + key + "\"");
  const nlohmann::json& v = j[key];
  const char* article = kind[0] == 'i' ? "an " : "a ";
  if (!is(v))
    return Error(where + ": field \"" + key + "\" must be " + article + kind + " (got " + v.dump() + ")");
  return v.get<T>();
}

// A bound as "3e-03", or "1.5e-02" where one digit would misstate it.
std::string bound_string(double bound) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1e", bound);
  std::string s = buf;
  if (auto zero = s.find(".0e"); zero != std::string::npos) s.erase(zero, 2);
  return s;
}

}  // namespace

Expected<double> number_field(const nlohmann::json& j, const std::string& key, const std::string& where) {
  return typed_field<double>(j, key, where, "number", [](const nlohmann::json& v) { return v.is_number(); });
}

Expected<int> int_field(const nlohmann::json& j, const std::string& key, const std::string& where) {
  return typed_field<int>(j, key, where, "integer",
                          [](const nlohmann::json& v) { return v.is_number_integer(); });
}

Expected<bool> bool_field(const nlohmann::json& j, const std::string& key, const std::string& where) {
  return typed_field<bool>(j, key, where, "boolean", [](const nlohmann::json& v) { return v.is_boolean(); });
}

Expected<std::string> string_field(const nlohmann::json& j, const std::string& key,
                                   const std::string& where) {
  return typed_field<std::string>(j, key, where, "string",
                                  [](const nlohmann::json& v) { return v.is_string(); });
}

Expected<double> number_field(const GoldenCase& c, const std::string& key) {
  return number_field(c.meta, key, c.name + "/case.json");
}

Expected<int> int_field(const GoldenCase& c, const std::string& key) {
  return int_field(c.meta, key, c.name + "/case.json");
}

void VerifyReport::compare(const std::string& name, const Tensor& actual, const Tensor& expected,
                           double tolerance, Metric metric) {
  if (actual.numel() != expected.numel()) {
    checks_.push_back({name, metric, INFINITY, tolerance, false});
    details_.push_back("shape " + shape_string(actual.shape()) + " vs expected " +
                       shape_string(expected.shape()));
    return;
  }
  const ops::Difference d = ops::compare(actual, expected);
  double value = metric == Metric::max_rel ? d.max_rel() : metric == Metric::rel_l2 ? d.rel_l2 : d.max_abs;
  if (d.has_nan) value = NAN;
  // A negative tolerance marks a check that is reported but not gated.
  const bool pass =
      !d.has_nan && (tolerance < 0 || (metric == Metric::exact ? d.max_abs == 0 : value <= tolerance));
  checks_.push_back({name, metric, value, tolerance, pass});
  details_.push_back(d.has_nan ? "NaN in output" : "");
}

void VerifyReport::expect(const std::string& name, bool ok, const std::string& detail) {
  checks_.push_back({name, Metric::exact, ok ? 0.0 : 1.0, 0.0, ok});
  details_.push_back(detail);
}

bool VerifyReport::passed() const {
  if (checks_.empty()) return false;
  for (const auto& c : checks_)
    if (!c.pass) return false;
  return true;
}

std::string VerifyReport::first_failure() const {
  if (checks_.empty()) return "no checks ran";
  for (size_t i = 0; i < checks_.size(); ++i) {
    const Check& c = checks_[i];
    if (c.pass) continue;
    char buf[256];
    if (!details_[i].empty()) return c.name + ": " + details_[i];
    const char* what = c.metric == Metric::max_rel  ? "max rel err"
                       : c.metric == Metric::rel_l2 ? "rel L2 err"
                                                    : "max abs err";
    std::snprintf(buf, sizeof buf, "%s %.3g > %.3g", what, c.value, c.tolerance);
    return c.name + ": " + buf;
  }
  return "";
}

std::string VerifyReport::table() const {
  std::string out;
  for (size_t i = 0; i < checks_.size(); ++i) {
    const Check& c = checks_[i];
    char buf[512];
    if (c.metric == Metric::exact) {
      std::snprintf(buf, sizeof buf, "  %-4s %-36s %s\n", c.pass ? "ok" : "FAIL", c.name.c_str(),
                    details_[i].empty() ? (c.pass ? "exact" : "mismatch") : details_[i].c_str());
    } else {
      const char* what = c.metric == Metric::max_rel  ? "max rel"
                         : c.metric == Metric::rel_l2 ? "rel L2"
                                                      : "max abs";
      if (c.tolerance < 0)  // informational: reported, not gated
        std::snprintf(buf, sizeof buf, "  %-4s %-36s %s %.3e (reported only)\n", "info", c.name.c_str(), what,
                      c.value);
      else
        std::snprintf(buf, sizeof buf, "  %-4s %-36s %s %.3e (tolerance %s)\n", c.pass ? "ok" : "FAIL",
                      c.name.c_str(), what, c.value, bound_string(c.tolerance).c_str());
    }
    out += buf;
  }
  return out;
}

}  // namespace fastwan
