// Asking the disk for byte ranges of files ahead of their readers, on a
// thread of its own.
//
// posix_fadvise(POSIX_FADV_WILLNEED) only queues the reads, but it blocks
// while the disk's queue is full: a caller that asks for thousands of
// ranges waits for nearly all of them to be read. Given to this queue
// instead, they are asked for in the background, files in the order their
// readers will want them (the lowest order first among those waiting),
// while the readers get on with what is already there; a reader that gets
// ahead of the queue just reads its range itself.
#pragma once

#include "capture/sys/fd.hpp"

#include <fcntl.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace capture {

/// Byte ranges of files asked of the disk in the background. Destroying
/// it stops it: what it did not ask for yet is dropped (a read of it later
/// is only slower).
class read_ahead_queue {
public:
    using ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

    read_ahead_queue() = default;
    read_ahead_queue(const read_ahead_queue&) = delete;
    read_ahead_queue& operator=(const read_ahead_queue&) = delete;
    ~read_ahead_queue() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_.store(true);
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    /// Queues the ranges ([begin, end), ascending) of the file at path; order
    /// says when its reader will want them. Thread-safe. When no thread can
    /// be started, asks for them at once, in the caller. Throws nothing but
    /// std::bad_alloc.
    void add(std::size_t order, std::string path, ranges r) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!started_) {
                started_ = true;
                try {
                    thread_ = std::thread([this] { run(); });
                } catch (const std::system_error&) {
                }
            }
            if (thread_.joinable()) {
                pending_.emplace(order, std::make_pair(std::move(path), std::move(r)));
                wake_.notify_one();
                return;
            }
        }
        ask(path, r);
    }

private:
    // A range at a time, so that a stop is heard between them.
    void ask(const std::string& path, const ranges& r) const {
        unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
        if (!fd) return;
        for (const auto& x : r) {
            if (stopping_.load(std::memory_order_relaxed)) return;
            ::posix_fadvise(fd.get(), static_cast<off_t>(x.first), static_cast<off_t>(x.second - x.first),
                            POSIX_FADV_WILLNEED);
        }
    }

    void run() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return stopping_.load() || !pending_.empty(); });
            if (stopping_.load()) return;
            auto it = pending_.begin();
            std::pair<std::string, ranges> job = std::move(it->second);
            pending_.erase(it);
            lock.unlock();
            ask(job.first, job.second);
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::multimap<std::size_t, std::pair<std::string, ranges>> pending_;
    std::thread thread_;
    bool started_ = false;
    std::atomic<bool> stopping_{false};
};

}  // namespace capture
