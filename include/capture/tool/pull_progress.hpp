// cap-pull's progress while it runs: a bar on the puller's terminal
// (stderr, never in a pipe: bytes read of bytes to read, rate, time left,
// files done), redrawn four times a second, and the record in the capture
// directory (each capture's a pull of alerts makes from the files it reads),
// written every second with read_bytes, total_bytes and eta, so that cap-ls
// anywhere on the sensor shows how far it got.
#pragma once

#include "capture/engine/cli.hpp"
#include "capture/engine/pull.hpp"
#include "capture/engine/pull_status.hpp"
#include "capture/engine/registry.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/time_format.hpp"
#include "capture/text/record.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace capture::detail {

// "[=========>          ]  42%  350.0 MiB of 836.0 MiB  120.0 MiB/s  ETA 4s  3/12 files",
// cut to columns (a line that wraps could not be redrawn in place).
inline std::string progress_bar_line(const pull_figures& f, std::size_t files_done, std::size_t files_total,
                                     std::size_t columns = 80) {
    constexpr int width = 20;
    const int filled = f.percent * width / 100;
    std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '=');
    if (filled < width) bar += '>' + std::string(static_cast<std::size_t>(width - filled - 1), ' ');
    bar += "]";
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%%", f.percent);
    std::string line = bar + " " + pct + "  " + format_bytes_human(f.read) + " of " + format_bytes_human(f.total) +
                       "  " + (f.rate > 0 ? format_bytes_human(static_cast<std::uint64_t>(f.rate)) + "/s" : "-") +
                       "  ETA " + format_eta(f.eta) + "  " + std::to_string(files_done) + "/" +
                       std::to_string(files_total) + " files";
    if (columns > 1 && line.size() > columns - 1) line.resize(columns - 1);
    return line;
}

// The columns of the terminal on fd, 80 when it does not say.
inline std::size_t terminal_columns(int fd) {
    struct winsize ws {};
    return ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

// A record a pull's progress goes into, and the file it is written to
// (none: kept in memory only).
struct progress_target {
    std::string record_path;
    record* rec = nullptr;
    /// The pull's packets are the record's own: not so for the captures
    /// of alerts, which get theirs when the group's matches are shared out.
    bool packets = true;
    /// What the record counted before this pull began (a capture of
    /// alerts merged over several groups reads one group after another),
    /// and its totals with this pull's (0: this pull's own).
    std::size_t files_before = 0, files_total = 0;
    std::uint64_t bytes_before = 0, bytes_total = 0;
};

// Shows progress while a pull runs: a line on a terminal's stderr, the
// records every second.
class progress_reporter {
public:
    progress_reporter(const cli::context& ctx, const pull_progress& progress, std::string record_path, record& rec,
                      std::mutex& rec_mutex)
        : progress_reporter(ctx, progress, {progress_target{std::move(record_path), &rec, true}}, rec_mutex) {}

    /// Every target's record is changed under rec_mutex.
    progress_reporter(const cli::context& ctx, const pull_progress& progress, std::vector<progress_target> targets,
                      std::mutex& rec_mutex)
        : ctx_(ctx), progress_(progress), targets_(std::move(targets)), rec_mutex_(rec_mutex),
          terminal_(::isatty(STDERR_FILENO) == 1 && ctx.err == &std::cerr),
          begun_(std::chrono::steady_clock::now()) {
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
    static std::string text(const pull_progress& p) { return text(p, p.files_done.load(), p.files_total); }
    static std::string text(const pull_progress& p, std::size_t done, std::size_t total) {
        std::int64_t t = p.packet_time.load();
        return (t ? format_iso8601(t) : std::string("starting")) + ", " + std::to_string(done) + "/" +
               std::to_string(total) + " files";
    }

    // The figures of p after seconds.
    static pull_figures figures(const pull_progress& p, double seconds) {
        return pull_figures_of(p.bytes_read.load(), p.bytes_total, seconds);
    }

private:
    void loop() {
        auto last_record = std::chrono::steady_clock::now();
        std::unique_lock<std::mutex> lock(mutex_);
        while (!wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return done_; })) {
            auto now = std::chrono::steady_clock::now();
            const pull_figures f = figures(progress_, std::chrono::duration<double>(now - begun_).count());
            if (terminal_) {
                *ctx_.err << "\r\033[K"
                          << progress_bar_line(f, progress_.files_done.load(), progress_.files_total,
                                               terminal_columns(STDERR_FILENO))
                          << std::flush;
                shown_ = true;
            }
            if (now - last_record >= std::chrono::seconds(1)) {
                last_record = now;
                std::lock_guard<std::mutex> r(rec_mutex_);
                for (const progress_target& t : targets_) {
                    if (t.record_path.empty()) continue;
                    record& rec = *t.rec;
                    const std::size_t done = t.files_before + progress_.files_done.load();
                    rec.set("progress", text(progress_, done, t.files_total ? t.files_total : progress_.files_total));
                    rec.set("files_done", std::to_string(done));
                    if (t.packets) rec.set("packets", std::to_string(progress_.packets_written.load()));
                    rec.set("read_bytes", std::to_string(t.bytes_before + f.read));
                    rec.set("total_bytes", std::to_string(t.bytes_total ? t.bytes_total : f.total));
                    if (f.eta >= 0) rec.set("eta", std::to_string(static_cast<std::int64_t>(f.eta + 0.5)));
                    try {
                        write_record_file(t.record_path, rec, ctx_.config.file_mode);
                    } catch (const error&) {
                        // Progress is news, not state: the next second tries again.
                    }
                }
            }
        }
    }

    const cli::context& ctx_;
    const pull_progress& progress_;
    std::vector<progress_target> targets_;
    std::mutex& rec_mutex_;
    bool terminal_;
    std::chrono::steady_clock::time_point begun_;
    bool shown_ = false;
    bool done_ = false;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread thread_;
};

}  // namespace capture::detail
