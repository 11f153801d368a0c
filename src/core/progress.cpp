#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "core/log.h"

namespace fastwan {
namespace {

// Up to this many steps are listed one by one in the summary; more are summarized.
constexpr size_t kListedSteps = 8;

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

}  // namespace

Progress::Mode Progress::default_mode() {
  if (::isatty(STDERR_FILENO)) return Mode::live;
  return log_level() >= LogLevel::debug ? Mode::lines : Mode::quiet;
}

Progress::Progress(Mode mode, std::FILE* out, Clock clock)
    : mode_(mode), out_(out), clock_(std::move(clock)) {
  if (!clock_)
    clock_ = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
  start_ = clock_();
}

void Progress::show(const std::string& line, bool final_line) {
  if (mode_ == Mode::quiet) return;
  if (mode_ == Mode::live)
    std::fprintf(out_, "\r%s\033[K%s", line.c_str(), final_line ? "\n" : "");  // \033[K: clear to line end
  else
    std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void Progress::note(const std::string& line) {
  if (mode_ != Mode::quiet) show(line, true);
}

void Progress::begin(const std::string& stage, int64_t total, const std::string& unit) {
  if (open_) end();
  stage_start_ = last_ = clock_();
  stages_.push_back({stage, unit, stage_start_ - start_, 0, {}});
  open_ = true;
  total_ = total;
  done_ = 0;
  if (listener_) listener_->update(stage, 0, total, 0);
  show(stage + ": ...", false);
}

void Progress::advance(int64_t done) {
  if (!open_ || done <= done_) return;
  const double now = clock_();
  Stage& s = stages_.back();
  if (s.unit == "step") s.unit_seconds.push_back((now - last_) / static_cast<double>(done - done_));
  last_ = now;
  done_ = done;
  if (listener_) listener_->update(s.name, done, total_, now - stage_start_);
  const double per_unit = (now - stage_start_) / static_cast<double>(done);
  std::string line = s.name + ": " + s.unit + " " + std::to_string(done) + "/" + std::to_string(total_) +
                     ", " + fmt("%.2f", per_unit) + " s/" + s.unit;
  if (done < total_) line += ", ETA " + fmt("%.1f", per_unit * static_cast<double>(total_ - done)) + " s";
  show(line, false);
}

void Progress::end() {
  if (!open_) return;
  open_ = false;
  Stage& s = stages_.back();
  s.seconds = clock_() - stage_start_;
  if (listener_) listener_->finished(s.name, s.seconds);
  std::string line = s.name + ": done in " + fmt("%.2f", s.seconds) + " s";
  if (done_ > 0)
    line += " (" + std::to_string(done_) + " " + s.unit + "s, " +
            fmt("%.2f", s.seconds / static_cast<double>(done_)) + " s/" + s.unit + ")";
  show(line, true);
}

void Progress::abandon() {
  if (!open_) return;
  open_ = false;
  stages_.pop_back();
  if (mode_ == Mode::live) std::fputc('\n', out_);
}

std::string Progress::times_since(size_t first) const {
  std::string out;
  for (size_t i = first; i < stages_.size(); ++i) {
    const Stage& s = stages_[i];
    out += (out.empty() ? "" : ", ") + s.name + " " + fmt("%.2f", s.seconds) + " s";
    const auto& t = s.unit_seconds;
    if (!t.empty() && t.size() <= kListedSteps) {
      out += " (steps";
      for (size_t j = 0; j < t.size(); ++j) out += (j ? ", " : " ") + fmt("%.2f", t[j]);
      out += " s)";
    } else if (!t.empty()) {
      out += " (" + std::to_string(t.size()) + " steps, " +
             fmt("%.2f", s.seconds / static_cast<double>(t.size())) + " s/step, min " +
             fmt("%.2f", *std::min_element(t.begin(), t.end())) + ", max " +
             fmt("%.2f", *std::max_element(t.begin(), t.end())) + ")";
    }
  }
  return out;
}

std::string Progress::summary() const {
  std::string out = times_since(0);
  if (!out.empty()) out += ", ";
  // Loading reads weights from disk; without it is what a resident model costs per video.
  double loading = 0;
  bool any_load = false;
  for (const Stage& s : stages_)
    if (s.name.ends_with(" load")) {
      loading += s.seconds;
      any_load = true;
    }
  const double total = elapsed();
  out += "total " + fmt("%.2f", total) + " s";
  if (any_load) out += " (" + fmt("%.2f", total - loading) + " s without loading)";
  return out;
}

}  // namespace fastwan
