// Work on many files at once, results in input order.
//
// Tools that read many files (cap-hash, cap-info) are filters: their output
// must come in input order and as soon as possible, so a pipeline downstream
// sees results while later inputs are still arriving on stdin. Tasks are
// submitted as inputs are read; whichever worker completes the head of the
// line emits it and every finished task behind it, one emitter at a time.
// At most a window of tasks waits at once, so memory stays bounded however
// many files there are and however slow the first one is.
#pragma once

#include <sched.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace capture {

/// The number of CPUs this process may run on (its affinity mask), at least 1.
inline unsigned available_cores() {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<unsigned>(n);
    }
#endif
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

/// Runs work on a few threads and the matching emit calls one at a time,
/// in submission order, each as soon as its work and all earlier ones are
/// done. With one worker or none, both run at once in the caller; so they
/// do when no thread can be started.
class ordered_pool {
public:
    explicit ordered_pool(unsigned workers) : window_(64 + 16 * static_cast<std::size_t>(workers)) {
        if (workers > 1) {
            for (unsigned i = 0; i < workers; ++i) {
                try {
                    threads_.emplace_back([this] { work_loop(); });
                } catch (const std::system_error&) {
                    // No more threads to be had (a process limit, ulimit -u,
                    // or systemd's TasksMax): fewer workers, or none, and
                    // then the caller's thread does the work.
                    break;
                }
            }
        }
    }
    ordered_pool(const ordered_pool&) = delete;
    ordered_pool& operator=(const ordered_pool&) = delete;
    ~ordered_pool() {
        try {
            finish();
        } catch (...) {  // already reported by an explicit finish(), or moot
        }
    }

    /// Queues a task; blocks while too many results wait for an earlier
    /// one (a slow first file holds bounded memory, not the whole input).
    void submit(std::function<void()> work, std::function<void()> emit) {
        if (threads_.empty()) {
            guarded(work);
            guarded(emit);
            return;
        }
        auto t = std::make_shared<task>(task{std::move(work), std::move(emit), false});
        {
            std::unique_lock<std::mutex> lock(mutex_);
            space_.wait(lock, [this] { return order_.size() < window_; });
            order_.push_back(t);
            pending_.push_back(t);
        }
        ready_.notify_one();
    }

    /// Waits until every task has run and been emitted. Rethrows the first
    /// exception a task let escape.
    void finish() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        ready_.notify_all();
        for (auto& t : threads_) t.join();
        threads_.clear();
        if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
    }

private:
    struct task {
        std::function<void()> work;
        std::function<void()> emit;
        bool done;
    };

    void guarded(const std::function<void()>& fn) {
        try {
            fn();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!failure_) failure_ = std::current_exception();
        }
    }

    void work_loop() {
        for (;;) {
            std::shared_ptr<task> t;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
                if (pending_.empty()) return;
                t = std::move(pending_.front());
                pending_.pop_front();
            }
            guarded(t->work);
            {
                std::lock_guard<std::mutex> lock(mutex_);
                t->done = true;
            }
            drain();
        }
    }

    // Whoever completes the head of the line emits it and every finished
    // task behind it; emit_mutex_ keeps one emitter at a time, in order.
    void drain() {
        std::lock_guard<std::mutex> emitting(emit_mutex_);
        for (;;) {
            std::shared_ptr<task> t;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (order_.empty() || !order_.front()->done) return;
                t = std::move(order_.front());
                order_.pop_front();
            }
            space_.notify_one();
            guarded(t->emit);
        }
    }

    std::size_t window_;
    std::mutex mutex_;
    std::mutex emit_mutex_;
    std::condition_variable ready_;
    std::condition_variable space_;
    std::deque<std::shared_ptr<task>> pending_;  // submitted, not yet started
    std::deque<std::shared_ptr<task>> order_;    // submitted, not yet emitted
    bool stopping_ = false;
    std::exception_ptr failure_;
    std::vector<std::thread> threads_;
};

}  // namespace capture
