#include "opsrun/metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

#include "opsrun/metrics/process_metrics.h"

namespace opsrun::metrics {

namespace {
void atomic_add(std::atomic<double>& a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}
}  // namespace

void Counter::inc(double by) {
  if (by < 0) return;  // counters only go up; a negative increment is ignored
  atomic_add(value_, by);
}

void Gauge::inc(double by) { atomic_add(value_, by); }

Histogram::Histogram(const std::vector<double>& bounds) : bounds_(bounds) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  std::erase_if(bounds_, [](double b) { return std::isinf(b) || std::isnan(b); });
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) {
  // Non-cumulative per bucket; the snapshot accumulates, which keeps observe() to one add.
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(acc);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  // _count must equal the +Inf bucket; the bucket sum is the consistent one.
  s.count = acc;
  return s;
}

std::vector<double> default_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,    1,     2.5,    5,     10,   30,    60,   300};
}

template <class Child>
Child& Family<Child>::with(const Labels& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + ": wrong number of label values");
  }
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<Child> child;
  if constexpr (std::is_same_v<Child, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<Child>();
  }
  auto& ref = *child;
  children_.emplace(values, std::move(child));
  return ref;
}

template <class Child>
void Family<Child>::each(const std::function<void(const Labels&, const Child&)>& f) const {
  std::lock_guard lock(mu_);
  for (const auto& [labels, child] : children_) f(labels, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
  std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
               std::unique_ptr<HistogramFamily>>
      family;
  std::string name;
};

Registry::Registry() = default;
Registry::~Registry() = default;

#define OPSRUN_FAMILY_GETTER(FN, FAM, ...)                                                     \
  for (auto& e : entries_) {                                                                   \
    if (e->name == name) {                                                                     \
      auto* p = std::get_if<std::unique_ptr<FAM>>(&e->family);                                 \
      if (!p) throw std::invalid_argument("metric " + name + " registered with another type"); \
      return **p;                                                                              \
    }                                                                                          \
  }                                                                                            \
  auto fam = std::make_unique<FAM>(__VA_ARGS__);                                               \
  auto& ref = *fam;                                                                            \
  entries_.push_back(std::make_unique<Entry>(Entry{std::move(fam), name}));                    \
  return ref;

CounterFamily& Registry::counter(const std::string& name, const std::string& help, Labels labels) {
  std::lock_guard lock(mu_);
  OPSRUN_FAMILY_GETTER(counter, CounterFamily, name, help, std::move(labels))
}

GaugeFamily& Registry::gauge(const std::string& name, const std::string& help, Labels labels) {
  std::lock_guard lock(mu_);
  OPSRUN_FAMILY_GETTER(gauge, GaugeFamily, name, help, std::move(labels))
}

HistogramFamily& Registry::histogram(const std::string& name, const std::string& help,
                                     Labels labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  OPSRUN_FAMILY_GETTER(histogram, HistogramFamily, name, help, std::move(labels), std::move(bounds))
}
#undef OPSRUN_FAMILY_GETTER

void Registry::enable_process_metrics() {
  std::lock_guard lock(mu_);
  process_ = true;
}

void Registry::on_collect(std::function<void()> f) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(f));
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {
std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const Labels& names, const Labels& values, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

void header(std::string& out, const std::string& name, const std::string& help,
            std::string_view type) {
  out += "# HELP " + name + ' ' + escape_help(help) + '\n';
  out += "# TYPE " + name + ' ' + std::string(type) + '\n';
}
}  // namespace

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string Registry::render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c();

  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& e : entries_) {
    if (auto* c = std::get_if<std::unique_ptr<CounterFamily>>(&e->family)) {
      auto& f = **c;
      header(out, f.name(), f.help(), "counter");
      f.each([&](const Labels& l, const Counter& v) {
        out += f.name() + label_text(f.label_names(), l) + ' ' + format_value(v.value()) + '\n';
      });
    } else if (auto* g = std::get_if<std::unique_ptr<GaugeFamily>>(&e->family)) {
      auto& f = **g;
      header(out, f.name(), f.help(), "gauge");
      f.each([&](const Labels& l, const Gauge& v) {
        out += f.name() + label_text(f.label_names(), l) + ' ' + format_value(v.value()) + '\n';
      });
    } else if (auto* h = std::get_if<std::unique_ptr<HistogramFamily>>(&e->family)) {
      auto& f = **h;
      header(out, f.name(), f.help(), "histogram");
      f.each([&](const Labels& l, const Histogram& v) {
        auto s = v.snapshot();
        for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
          std::string le = i < v.bounds().size() ? format_value(v.bounds()[i]) : "+Inf";
          out += f.name() + "_bucket" + label_text(f.label_names(), l, "le", le) + ' ' +
                 std::to_string(s.cumulative[i]) + '\n';
        }
        out +=
            f.name() + "_sum" + label_text(f.label_names(), l) + ' ' + format_value(s.sum) + '\n';
        out += f.name() + "_count" + label_text(f.label_names(), l) + ' ' +
               std::to_string(s.count) + '\n';
      });
    }
  }
  if (process_) {
    auto p = read_process_stats();
    auto put = [&](const char* name, const char* help, const char* type,
                   const std::optional<double>& v) {
      if (!v) return;
      header(out, name, help, type);
      out += std::string(name) + ' ' + format_value(*v) + '\n';
    };
    put("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter",
        p.cpu_seconds_total);
    put("process_open_fds", "Number of open file descriptors.", "gauge", p.open_fds);
    put("process_max_fds", "Maximum number of open file descriptors.", "gauge", p.max_fds);
    put("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge",
        p.virtual_memory_bytes);
    put("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge",
        p.resident_memory_bytes);
    put("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
        "gauge", p.start_time_seconds);
  }
  return out;
}

}  // namespace opsrun::metrics
