// cap-pull's progress while it runs: a line on the puller's terminal
// (stderr, never in a pipe) and the record in the capture directory, written
// every second, so that cap-ls anywhere on the sensor shows how far it got.
#pragma once

#include "capture/engine/cli.hpp"
#include "capture/engine/pull.hpp"
#include "capture/engine/registry.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/time_format.hpp"
#include "capture/text/record.hpp"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace capture::detail {

// Shows progress while a pull runs: a line on a terminal's stderr, the
// record every second.
class progress_reporter {
public:
    progress_reporter(const cli::context& ctx, const pull_progress& progress, std::string record_path, record& rec,
                      std::mutex& rec_mutex)
        : ctx_(ctx), progress_(progress), record_path_(std::move(record_path)), rec_(rec), rec_mutex_(rec_mutex),
          terminal_(::isatty(STDERR_FILENO) == 1) {
        try {
            thread_ = std::thread([this] { loop(); });
        } catch (const std::system_error&) {
            // No thread to be had (a process limit): progress is news, and
            // the pull goes on without it; the final record is written anyway.
        }
    }
    progress_reporter(const progress_reporter&) = delete;
    progress_reporter& operator=(const progress_reporter&) = delete;
    ~progress_reporter() { stop(); }

    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (done_) return;
            done_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
        if (terminal_ && shown_) *ctx_.err << "\r\033[K" << std::flush;
    }

    // "2023-11-14T22:13:20Z, 3/32 files".
    static std::string text(const pull_progress& p) {
        std::int64_t t = p.packet_time.load();
        return (t ? format_iso8601(t) : std::string("starting")) + ", " + std::to_string(p.files_done.load()) + "/" +
               std::to_string(p.files_total) + " files";
    }

private:
    void loop() {
        auto last_record = std::chrono::steady_clock::now();
        std::unique_lock<std::mutex> lock(mutex_);
        while (!wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return done_; })) {
            std::string now_text = text(progress_);
            if (terminal_) {
                *ctx_.err << "\r\033[K" << ctx_.tool << ": " << now_text << ", "
                          << format_bytes_human(progress_.bytes_read.load()) << " read, "
                          << progress_.packets_written.load() << " packets" << std::flush;
                shown_ = true;
            }
            auto now = std::chrono::steady_clock::now();
            if (!record_path_.empty() && now - last_record >= std::chrono::seconds(1)) {
                last_record = now;
                std::lock_guard<std::mutex> r(rec_mutex_);
                rec_.set("progress", now_text);
                rec_.set("files_done", std::to_string(progress_.files_done.load()));
                rec_.set("packets", std::to_string(progress_.packets_written.load()));
                try {
                    write_record_file(record_path_, rec_, ctx_.config.file_mode);
                } catch (const error&) {
                    // Progress is news, not state: the next second tries again.
                }
            }
        }
    }

    const cli::context& ctx_;
    const pull_progress& progress_;
    std::string record_path_;
    record& rec_;
    std::mutex& rec_mutex_;
    bool terminal_;
    bool shown_ = false;
    bool done_ = false;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread thread_;
};

}  // namespace capture::detail
