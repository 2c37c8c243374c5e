// Process metrics in the Prometheus text exposition format (version 0.0.4):
// counters, gauges and histograms, each a family of series told apart by
// label values. Updating a series is lock-free; finding one by its labels
// takes the family's lock, so hot paths keep the reference they got.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pulse::telemetry {

class Counter {
 public:
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Cumulative buckets with upper bounds (seconds, sizes, ...), plus sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  /// Per bucket (not cumulative), then the +Inf bucket last.
  std::vector<std::uint64_t> counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

/// Bounds for request latencies in seconds (0.5 ms .. 10 s).
std::vector<double> latency_bounds();

enum class Kind { counter, gauge, histogram };

/// Series of one metric. `with` returns a reference that stays valid for
/// the family's life (until clear(), for gauges set at scrape time).
template <class T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), bounds_(std::move(bounds)) {}

  /// Thread-safe. `values` in the order of the family's label names.
  T& with(const std::vector<std::string>& values);
  /// Drops every series (for gauges rebuilt at each scrape).
  void clear();

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }
  /// Calls `f(label values, series)` for each series, in label order.
  void each(const std::function<void(const std::vector<std::string>&, const T&)>& f) const;

 private:
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_;
};

/// Holds every family of a process and renders them. Families are created
/// at start-up; a name registered twice returns the first family.
class Registry {
 public:
  Family<Counter>& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                               std::vector<std::string> labels = {});

  /// Runs before every render, to set gauges read from elsewhere (open
  /// connections, queue depth). Called under no lock of the registry.
  void on_scrape(std::function<void()> refresh);

  /// Adds text already in the exposition format (whole families, each with
  /// its HELP and TYPE) after the registry's own: for figures computed
  /// elsewhere and cached. Called at every render.
  void add_exposition(std::function<std::string()> text);

  /// The whole exposition, families in registration order.
  std::string render() const;

  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry {
    Kind kind;
    std::shared_ptr<void> family;
  };
  template <class F, class... Args>
  F& add(Kind kind, const std::string& name, Args&&... args);
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Entry>> families_;
  std::vector<std::function<void()>> refreshers_;
  std::vector<std::function<std::string()>> texts_;
};

/// Helpers for writing exposition text by hand.
std::string format_value(double v);
/// `name{a="x",b="y"}` with the values escaped.
std::string series_name(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels);

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

/// A label value or help text escaped for the exposition format.
std::string escape_label(std::string_view value);

}  // namespace pulse::telemetry
