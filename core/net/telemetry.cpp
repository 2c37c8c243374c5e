#include "core/net/telemetry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace pulse::telemetry {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::observe(double v) {
  const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> latency_bounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

namespace {

template <class T>
std::unique_ptr<T> make_series(const std::vector<double>& bounds) {
  if constexpr (std::is_same_v<T, Histogram>) return std::make_unique<T>(bounds);
  else return std::make_unique<T>();
}

}  // namespace

// Go's strconv formatting, as Prometheus parses it: +Inf, -Inf, NaN, else
// the shortest form that reads back exactly.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  // Plain decimals where they stay short ("0.0005", "100000"), else exponents.
  const double mag = std::fabs(v);
  const bool plain = mag == 0 || (mag >= 1e-4 && mag < 1e15);
  const auto [end, ec] = plain ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                               : std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : "NaN";
}

std::string series_name(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out(name);
  if (labels.empty()) return out;
  out += '{';
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
  }
  return out + "}";
}

namespace {

std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i] + "=\"" + escape_label(i < values.size() ? values[i] : "") + "\"";
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  return out + "}";
}

}  // namespace

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

template <class T>
T& Family<T>::with(const std::vector<std::string>& values) {
  std::lock_guard lock(mutex_);
  auto& slot = series_[values];
  if (!slot) slot = make_series<T>(bounds_);
  return *slot;
}

template <class T>
void Family<T>::clear() {
  std::lock_guard lock(mutex_);
  series_.clear();
}

template <class T>
void Family<T>::each(const std::function<void(const std::vector<std::string>&, const T&)>& f) const {
  std::lock_guard lock(mutex_);
  for (const auto& [labels, series] : series_) f(labels, *series);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <class F, class... Args>
F& Registry::add(Kind kind, const std::string& name, Args&&... args) {
  std::lock_guard lock(mutex_);
  for (auto& [n, e] : families_)
    if (n == name) return *static_cast<F*>(e.family.get());
  auto f = std::make_shared<F>(name, std::forward<Args>(args)...);
  families_.push_back({name, {kind, f}});
  return *f;
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  return add<Family<Counter>>(Kind::counter, name, help, std::move(labels));
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  return add<Family<Gauge>>(Kind::gauge, name, help, std::move(labels));
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                                       std::vector<std::string> labels) {
  return add<Family<Histogram>>(Kind::histogram, name, help, std::move(labels), std::move(bounds));
}

void Registry::add_exposition(std::function<std::string()> text) {
  std::lock_guard lock(mutex_);
  texts_.push_back(std::move(text));
}

void Registry::on_scrape(std::function<void()> refresh) {
  std::lock_guard lock(mutex_);
  refreshers_.push_back(std::move(refresh));
}

std::string Registry::render() const {
  std::vector<std::function<void()>> refreshers;
  std::vector<std::pair<std::string, Entry>> families;
  std::vector<std::function<std::string()>> texts;
  {
    std::lock_guard lock(mutex_);
    refreshers = refreshers_;
    families = families_;
    texts = texts_;
  }
  for (const auto& r : refreshers) r();
  std::string out;
  out.reserve(4096);
  for (const auto& [name, e] : families) {
    auto head = [&](const std::string& help, const char* type) {
      out += "# HELP " + name + " " + escape_label(help) + "\n# TYPE " + name + " " + type + "\n";
    };
    if (e.kind == Kind::counter) {
      const auto& f = *static_cast<const Family<Counter>*>(e.family.get());
      head(f.help(), "counter");
      f.each([&](const auto& values, const Counter& c) {
        out += name + label_set(f.labels(), values) + " " + format_value(c.value()) + "\n";
      });
    } else if (e.kind == Kind::gauge) {
      const auto& f = *static_cast<const Family<Gauge>*>(e.family.get());
      head(f.help(), "gauge");
      f.each([&](const auto& values, const Gauge& g) {
        out += name + label_set(f.labels(), values) + " " + format_value(g.value()) + "\n";
      });
    } else {
      const auto& f = *static_cast<const Family<Histogram>*>(e.family.get());
      head(f.help(), "histogram");
      f.each([&](const auto& values, const Histogram& h) {
        const auto counts = h.counts();
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          const std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
          out += name + "_bucket" + label_set(f.labels(), values, "le", le) + " " + std::to_string(cumulative) + "\n";
        }
        out += name + "_sum" + label_set(f.labels(), values) + " " + format_value(h.sum()) + "\n";
        out += name + "_count" + label_set(f.labels(), values) + " " + std::to_string(cumulative) + "\n";
      });
    }
  }
  for (const auto& t : texts) out += t();
  return out;
}

}  // namespace pulse::telemetry
