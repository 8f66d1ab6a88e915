// A second thread for a writer's write(2)s.
//
// Writing a capture file is two kinds of work: choosing the records and
// copying them into a buffer (the merge), and the kernel's copy of the full
// buffer into the page cache, which is about half of a merge's time. On one
// thread they take turns; here the buffer just filled goes to a thread of
// its own while the caller fills another, so on two cores they overlap.
//
// Two buffers, no queue: a caller that fills faster than the file takes
// waits for the write before, so memory stays two buffers (with a tap on a
// thread of its own, a few more: see buffers). A failed write
// is reported at the next hand-over or at finish(); the buffers after it
// are dropped, since a file with a hole in it is worth nothing (the writer
// then keeps what reached the file, capture_writer::keep_written()).
//
// A tap (write_tap.hpp) sees each buffer on a third thread while the
// second writes it: a digest of the output then costs the caller nothing,
// and the write(2)s nothing either (the kernel's copy into the page cache
// and a SHA-256 of the same bytes are of a size, 0.4 and 0.7 ms per MiB
// here: on one thread they would take turns). Where no third thread can
// be had, the writing thread shows the tap each buffer itself, before
// writing it.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/fd.hpp"
#include "capture/sys/write_tap.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace capture {

class write_behind {
public:
    /// The most one write(2) is given. The kernel sizes the page-cache
    /// folios it fills by the length of the write, and large ones come from
    /// large free blocks: on a virtual machine whose balloon reports free
    /// memory to the host (Firecracker, QEMU free page reporting) those are
    /// the blocks the host took back, and every first touch faults in the
    /// host. bench_merge there: 1 MiB writes 0.55-0.72 s, 256 KiB 0.25-0.32.
    static constexpr std::size_t max_write = std::size_t{1} << 18;

    /// Buffers in all, the caller's included: with a tap on a thread of its
    /// own, the writing thread and the tap's may be this many less one
    /// buffers apart, so that neither waits for the other at every buffer
    /// (on two busy cores they seldom get a core at the same moment).
    /// Without a tap only two are ever used.
    static constexpr std::size_t buffers = 4;

    /// Starts the thread that writes to fd (borrowed: the caller keeps it,
    /// and closes it only after this is destroyed). buffer_size: the size
    /// of the buffers handed over. Throws std::system_error when no thread
    /// can be started, std::bad_alloc.
    write_behind(int fd, std::size_t buffer_size)
        : fd_(fd), buffer_size_(buffer_size), thread_([this] { write_loop(); }) {}

    write_behind(const write_behind&) = delete;
    write_behind& operator=(const write_behind&) = delete;

    /// Finishes the writes in progress and stops the threads. Throws nothing.
    ~write_behind() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            quit_ = true;  // each thread still does what is queued for it
        }
        wake_.notify_all();
        thread_.join();
        if (tapper_.joinable()) tapper_.join();
    }

    /// From the next hand-over on, tap sees every buffer handed over
    /// (nullptr: none), whether or not its write then succeeds, on a
    /// thread of its own (started here; where none can be, on the writing
    /// thread, before the write). tap must outlive this object or the next
    /// set_tap(). Waits while a write runs. Throws nothing.
    void set_tap(write_tap* tap) noexcept {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return queue_.empty(); });
        tap_ = tap;
        if (tap && !tapper_.joinable()) {
            try {
                const std::uint64_t from = handed_;  // it starts with the next hand-over
                tapper_ = std::thread([this, from] { tap_loop(from); });
            } catch (const std::system_error&) {
                // No thread to be had: the writing thread shows the tap.
            }
        }
    }

    /// Hands over the n bytes at the start of buf to be written after every
    /// earlier hand-over, and puts an empty buffer of the same size in buf.
    /// Waits while every other buffer is in use. Returns 0, or the errno of
    /// an earlier write that failed (buf is then left as it was, not
    /// written). Throws nothing but std::bad_alloc (a new buffer).
    int hand_over(std::unique_ptr<std::uint8_t[]>& buf, std::size_t n) {
        std::unique_lock<std::mutex> lock(mutex_);
        const bool tapped = tap_ && tapper_.joinable();
        // Without a tap, one buffer in flight: the write before is done
        // when this one is handed over, as it always was.
        const std::size_t in_flight = tapped ? buffers - 1 : 1;
        done_.wait(lock, [&] { return queue_.size() < in_flight; });
        if (error_) return error_;
        std::unique_ptr<std::uint8_t[]> next;
        if (!free_.empty()) {
            next = std::move(free_.back());
            free_.pop_back();
        } else {
            lock.unlock();
            next.reset(new std::uint8_t[buffer_size_]);
            lock.lock();
        }
        queue_.push_back(job{std::move(buf), n, tapped ? 2 : 1, tapped});
        buf = std::move(next);
        ++handed_;
        lock.unlock();
        wake_.notify_all();
        return 0;
    }

    /// Waits until everything handed over is written (and shown to the
    /// tap), so the caller may use the descriptor itself. Returns 0 or the
    /// errno of the first write that failed. Throws nothing.
    int finish() noexcept {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return queue_.empty(); });
        return error_;
    }

private:
    struct job {
        std::unique_ptr<std::uint8_t[]> buf;
        std::size_t n = 0;
        int users = 0;        // threads still to be done with it
        bool tapped = false;  // the tap's thread shows it to the tap
    };

    // The job of hand-over number seq (counted from 0), under mutex_:
    // still queued, since its thread is not done with it.
    job& at(std::uint64_t seq) { return queue_[static_cast<std::size_t>(seq - retired_)]; }

    // The writing thread: each buffer handed over, in order, written (and
    // shown to the tap first when it has no thread of its own).
    void write_loop() noexcept {
        std::unique_lock<std::mutex> lock(mutex_);
        for (std::uint64_t seq = 0;; ++seq) {
            wake_.wait(lock, [&] { return handed_ != seq || quit_; });
            if (handed_ == seq) return;  // asked to quit, nothing left to write
            job& j = at(seq);
            const std::uint8_t* const p = j.buf.get();
            const std::size_t n = j.n;
            write_tap* const tap = j.tapped ? nullptr : tap_;
            int err = error_;  // after a failure nothing more is written
            lock.unlock();
            if (tap && !err) tap->saw(p, n);
            for (std::size_t off = 0; off < n && !err; off += max_write)
                err = write_fully(fd_, p + off, std::min(max_write, n - off));
            lock.lock();
            if (err && !error_) error_ = err;
            done_with(seq);
        }
    }

    // The tap's thread: each buffer handed over with a tap, in order,
    // shown to the tap while the writing thread writes it or later ones.
    void tap_loop(std::uint64_t from) noexcept {
        std::unique_lock<std::mutex> lock(mutex_);
        for (std::uint64_t seq = from;; ++seq) {
            wake_.wait(lock, [&] { return handed_ != seq || quit_; });
            if (handed_ == seq) return;
            job& j = at(seq);
            if (!j.tapped) continue;  // handed over with no tap
            const std::uint8_t* const p = j.buf.get();
            const std::size_t n = j.n;
            write_tap* const tap = tap_;
            lock.unlock();
            tap->saw(p, n);
            lock.lock();
            done_with(seq);
        }
    }

    // A thread is done with job seq; the buffers nobody needs any more, from
    // the oldest, go back to the free list. Under mutex_.
    void done_with(std::uint64_t seq) {
        --at(seq).users;
        bool freed = false;
        while (!queue_.empty() && queue_.front().users == 0) {
            free_.push_back(std::move(queue_.front().buf));
            queue_.pop_front();
            ++retired_;
            freed = true;
        }
        if (freed) done_.notify_all();
    }

    const int fd_;
    const std::size_t buffer_size_;
    std::deque<job> queue_;                              // handed over, not yet done with, oldest first
    std::vector<std::unique_ptr<std::uint8_t[]>> free_;  // buffers to hand back to the caller
    std::uint64_t handed_ = 0;                           // hand-overs so far: a thread waits for the next
    std::uint64_t retired_ = 0;                          // hand-overs done with and dropped from queue_
    int error_ = 0;                                      // errno of the first write that failed
    write_tap* tap_ = nullptr;                           // sees each buffer handed over
    bool quit_ = false;
    std::mutex mutex_;
    std::condition_variable wake_;  // for the threads: something to write or show, or quit
    std::condition_variable done_;  // for the caller: a buffer is free again
    std::thread thread_;            // the writing thread; last but one: starts once the rest is ready
    std::thread tapper_;            // the tap's, once a tap is set
};

}  // namespace capture
