// A small thread-safe metrics registry rendered in the Prometheus text format 0.0.4.
//
// Families are created once (registry.counter(...)) and live as long as the registry; the
// references they hand out stay valid, so callers look a label set up once and keep the
// child: the hot path is then one relaxed atomic operation.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace opsrun::metrics {

using Labels = std::vector<std::string>;

class Counter {
 public:
  void inc(double by = 1.0);
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1.0);
  void dec(double by = 1.0) { inc(-by); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double v);
  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  [[nodiscard]] Snapshot snapshot() const;
  [[nodiscard]] const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0.0};
  std::atomic<std::uint64_t> count_{0};
};

// Default buckets for request and execution latencies, in seconds.
std::vector<double> default_buckets();

enum class Type { Counter, Gauge, Histogram };

// One metric name with its label names; children per label-value tuple.
template <class Child>
class Family {
 public:
  Family(std::string name, std::string help, Labels label_names, std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  // The child for these label values (as many as the family's label names; throws
  // std::invalid_argument otherwise: a programmer error). The reference stays valid.
  Child& with(const Labels& values);
  Child& with(std::initializer_list<std::string> values) { return with(Labels(values)); }

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& help() const { return help_; }
  [[nodiscard]] const Labels& label_names() const { return label_names_; }
  // Calls f(label values, child) for each child, in label order.
  void each(const std::function<void(const Labels&, const Child&)>& f) const;

 private:
  std::string name_;
  std::string help_;
  Labels label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<Labels, std::unique_ptr<Child>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Asking again for the same name returns the same family (the help and labels of the first
  // call win; a different type for the same name throws std::invalid_argument).
  CounterFamily& counter(const std::string& name, const std::string& help, Labels labels = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help, Labels labels = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help, Labels labels = {},
                             std::vector<double> bounds = default_buckets());

  // Adds the process_* metrics read from /proc at each render.
  void enable_process_metrics();
  // A callback run before each render (to refresh gauges from elsewhere).
  void on_collect(std::function<void()> f);

  // The Prometheus text exposition format 0.0.4.
  [[nodiscard]] std::string render() const;

 private:
  struct Entry;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<std::function<void()>> collectors_;
  bool process_ = false;
};

// Label value escaping of the text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view v);
// A sample value as the text format writes it (+Inf, -Inf, NaN, shortest round trip).
std::string format_value(double v);

}  // namespace opsrun::metrics
