// Threads for attempts that block (processes, HTTP, Lua, sleeps). Grows on demand up to a
// maximum, so parallel branches and loop items really overlap; idle threads are reused.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace opsrun::engine {

class WorkerPool {
 public:
  explicit WorkerPool(int max_threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::function<void()> task);
  // Tasks queued or running.
  [[nodiscard]] int busy() const;
  void stop();

 private:
  void run();

  const int max_threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  int idle_ = 0;
  int busy_ = 0;
  bool stopping_ = false;
};

}  // namespace opsrun::engine
