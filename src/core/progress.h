// Progress of long work, and the time each stage took.
//
//   live   (stderr is a terminal) one line re-drawn in place: stage, step i/N, seconds per step, ETA
//   lines  (-v in a pipe) one line per step
//   quiet  (a pipe) nothing; the caller prints the summary()
// Stage and step times are kept in every mode. A listener (the server, tests) hears every stage and step as
// it happens and can ask the run to stop: the pipeline checks cancelled() between stages and steps.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace fastwan {

class ProgressListener {
 public:
  virtual ~ProgressListener() = default;
  // `done` of `total` units of `stage` are finished after `seconds` in it (done 0: the stage begins).
  virtual void update(const std::string& stage, int64_t done, int64_t total, double seconds) = 0;
  // The stage took `seconds` in all.
  virtual void finished(const std::string& stage, double seconds) = 0;
  virtual bool cancelled() const = 0;
};

class Progress {
 public:
  enum class Mode { quiet, lines, live };
  // live when stderr is a terminal, lines with -v (debug logging), else quiet.
  static Mode default_mode();
  using Clock = std::function<double()>;  // seconds, monotonic

  explicit Progress(Mode mode, std::FILE* out = stderr, Clock clock = nullptr);

  // Not owned; must outlive the run.
  void set_listener(ProgressListener* listener) { listener_ = listener; }
  // The listener asked the run to stop.
  bool cancelled() const { return listener_ && listener_->cancelled(); }

  // A line of context (device, model, settings); not shown in quiet mode.
  void note(const std::string& line);
  // Starts a stage of `total` units ("step", "frame"); 0 for a stage without steps.
  void begin(const std::string& stage, int64_t total = 0, const std::string& unit = "step");
  // `done` of `total` units are finished.
  void advance(int64_t done);
  void end();
  // Ends an open stage without recording it (after an error), so the error starts on its own line.
  void abandon();

  struct Stage {
    std::string name;
    std::string unit;
    double start = 0;  // seconds since construction, as elapsed()
    double seconds = 0;
    std::vector<double> unit_seconds;  // per unit, for stages whose unit is "step"
  };
  const std::vector<Stage>& stages() const { return stages_; }
  double elapsed() const { return clock_() - start_; }  // seconds since construction
  // "text 0.21 s, transformer 0.01 s, denoise 1.52 s (steps 0.50, 0.51, 0.51 s), decode+write 0.40 s,
  // total 2.20 s" (total: since construction); more than 8 steps are given as mean, min and max.
  std::string summary() const;
  // The stages from index `first` on, as in summary() (no total): one video's times among several.
  std::string times_since(size_t first) const;

 private:
  void show(const std::string& line, bool final_line);

  Mode mode_;
  std::FILE* out_;
  Clock clock_;
  ProgressListener* listener_ = nullptr;
  double start_ = 0;
  std::vector<Stage> stages_;
  bool open_ = false;
  int64_t total_ = 0, done_ = 0;
  double stage_start_ = 0, last_ = 0;
};

}  // namespace fastwan
