// Group commit: callers that arrive while a commit is in progress wait, and
// the next of them commits everything that queued up in one transaction.
// One fsync then makes many requests durable, and each caller still returns
// only once its own work is committed.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

namespace pulse::collector {

template <class Job>
class GroupCommit {
 public:
  /// `commit_batch` runs the jobs in one transaction; it records each job's
  /// outcome in the job itself and throws if the transaction as a whole
  /// failed (every job of the batch then gets that exception).
  explicit GroupCommit(std::function<void(std::vector<Job*>&)> commit_batch) : commit_batch_(std::move(commit_batch)) {}

  /// Returns once `job` is committed; rethrows the batch's failure.
  void submit(Job& job) {
    Slot me{&job, false, nullptr};
    std::unique_lock lock(mutex_);
    queue_.push_back(&me);
    while (!me.done) {
      if (leader_) {
        cv_.wait(lock);
        continue;
      }
      leader_ = true;
      std::vector<Slot*> slots;
      slots.swap(queue_);
      lock.unlock();
      std::vector<Job*> jobs;
      jobs.reserve(slots.size());
      for (auto* s : slots) jobs.push_back(s->job);
      std::exception_ptr failure;
      try {
        commit_batch_(jobs);
      } catch (...) {
        failure = std::current_exception();
      }
      lock.lock();
      for (auto* s : slots) {
        s->failure = failure;
        s->done = true;
      }
      leader_ = false;
      cv_.notify_all();
    }
    if (me.failure) std::rethrow_exception(me.failure);
  }

 private:
  struct Slot {
    Job* job;
    bool done = false;
    std::exception_ptr failure;
  };
  std::function<void(std::vector<Job*>&)> commit_batch_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Slot*> queue_;
  bool leader_ = false;
};

}  // namespace pulse::collector
