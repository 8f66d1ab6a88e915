// The capture loop of a live capture: packets from an open pcap_t to a
// pcap file, flushed at least every second, with limits, counters kept in
// the record, and a clean end on SIGTERM, on a limit or on a full disk.
//
// The file is written through our own buffer rather than pcap_dump's
// stdio stream: we know exactly which bytes reached the disk, so a full
// disk leaves the file cut at the last whole packet (a valid pcap) instead
// of in the middle of one, and the record says why it stopped.
#pragma once

#include "capture/text/audit.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/pcap/pcap_handle.hpp"
#include "capture/text/record.hpp"
#include "capture/engine/registry.hpp"
#include "capture/sys/time_format.hpp"

#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace capture {

/// What ends a capture besides SIGTERM; 0 means no limit.
struct capture_limits {
    std::uint64_t duration_s = 0;  ///< seconds after the start
    std::uint64_t max_bytes = 0;   ///< the file never grows beyond this
    std::uint64_t count = 0;       ///< packets written
};

/// The pcap file header libpcap itself would write for p (magic, version,
/// snaplen, and the LINKTYPE_ value mapped from p's DLT_ value), obtained
/// by letting pcap_dump_fopen write it to memory. Throws error.
inline std::string pcap_file_header_for(pcap_t* p) {
    char* data = nullptr;
    std::size_t size = 0;
    FILE* mem = ::open_memstream(&data, &size);
    if (!mem) throw system_failure("open_memstream");
    pcap_dumper_t* d = ::pcap_dump_fopen(p, mem);
    if (!d) {
        std::fclose(mem);
        std::free(data);
        throw error(std::string("cannot make a pcap header: ") + ::pcap_geterr(p));
    }
    ::pcap_dump_close(d);  // closes mem, which fixes data and size
    std::string header(data ? data : "", size);
    std::free(data);
    if (header.size() != 24) throw error("cannot make a pcap header: unexpected size");
    return header;
}

/// Appends packets to a pcap file through a buffer of our own; knows how
/// many bytes are safely on disk.
class pcap_file_out {
public:
    /// Takes the open, empty file and writes header to it at once, so the
    /// file is a valid (empty) capture from its first instant.
    pcap_file_out(unique_fd fd, const std::string& header, std::size_t buffer_bytes = 1 << 20)
        : fd_(std::move(fd)), capacity_(buffer_bytes) {
        buffer_.reserve(capacity_);
        buffer_.assign(header.begin(), header.end());
        flush();
    }

    /// Buffers one packet record; false once writing has failed.
    bool add(const pcap_pkthdr* h, const u_char* data) {
        if (write_errno_) return false;
        std::size_t need = 16 + h->caplen;
        if (buffer_.size() + need > capacity_ && !flush()) return false;
        std::uint32_t fields[4] = {static_cast<std::uint32_t>(h->ts.tv_sec), static_cast<std::uint32_t>(h->ts.tv_usec),
                                   h->caplen, h->len};
        const auto* f = reinterpret_cast<const std::uint8_t*>(fields);
        starts_.push_back(buffer_.size());
        buffer_.insert(buffer_.end(), f, f + sizeof fields);
        buffer_.insert(buffer_.end(), data, data + h->caplen);
        ++packets_;
        return true;
    }

    /// Writes the buffer to the file. On failure (a full disk writes part
    /// of it), cuts the file back to the last whole packet that made it,
    /// keeps errno in write_errno(), and returns false.
    bool flush() {
        if (write_errno_) return false;
        std::size_t done = 0;
        while (done < buffer_.size()) {
            ssize_t n = ::write(fd_.get(), buffer_.data() + done, buffer_.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                write_errno_ = n < 0 ? errno : EIO;
                std::size_t whole = 0;  // the end of the last packet wholly written
                for (std::size_t start : starts_) {
                    if (start > done) break;
                    whole = start;
                }
                if (done == buffer_.size()) whole = done;
                if (starts_.empty() || starts_.front() > done) whole = 0;
                // The packets cut off were counted when buffered.
                packets_ -= static_cast<std::uint64_t>(
                    starts_.end() - std::lower_bound(starts_.begin(), starts_.end(), whole));
                committed_ += whole;
                // Shrinking needs no space: the file stays a valid capture.
                [[maybe_unused]] int rc = ::ftruncate(fd_.get(), static_cast<off_t>(committed_));
                ::lseek(fd_.get(), static_cast<off_t>(committed_), SEEK_SET);
                buffer_.clear();
                starts_.clear();
                return false;
            }
            done += static_cast<std::size_t>(n);
        }
        committed_ += buffer_.size();
        buffer_.clear();
        starts_.clear();
        return true;
    }

    /// Flushes and syncs to disk, then closes. False on failure (write_errno()).
    bool close() {
        bool ok = flush();
        if (ok && ::fsync(fd_.get()) != 0 && errno != EINVAL) {
            write_errno_ = errno;
            ok = false;
        }
        fd_.reset();
        return ok;
    }

    /// The size of the file once the buffer is written.
    std::uint64_t bytes() const noexcept { return committed_ + buffer_.size(); }
    /// The packets in the file once the buffer is written (after a failed
    /// write, exactly those the file holds).
    std::uint64_t packets() const noexcept { return packets_; }
    /// The errno of the write that failed; 0 while all is well.
    int write_errno() const noexcept { return write_errno_; }

private:
    unique_fd fd_;
    std::size_t capacity_;
    std::vector<std::uint8_t> buffer_;
    std::vector<std::size_t> starts_;  // where each buffered packet begins
    std::uint64_t committed_ = 0;
    std::uint64_t packets_ = 0;
    int write_errno_ = 0;
};

namespace detail {

/// Set by SIGTERM, SIGINT and SIGHUP; the loop polls it at least every
/// 100 ms (the handler also interrupts poll).
inline volatile std::sig_atomic_t stop_signal = 0;

inline void on_stop_signal(int sig) { stop_signal = sig; }

struct loop_state {
    pcap_t* handle = nullptr;
    pcap_file_out* out = nullptr;
    std::uint64_t packets = 0;
    std::uint64_t max_bytes = 0;
    bool size_reached = false;
};

inline void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* data) {
    auto* s = reinterpret_cast<loop_state*>(user);
    if (s->size_reached) return;
    if (s->max_bytes && s->out->bytes() + 16 + h->caplen > s->max_bytes) {
        s->size_reached = true;
        ::pcap_breakloop(s->handle);
        return;
    }
    if (s->out->add(h, data)) ++s->packets;
    else ::pcap_breakloop(s->handle);
}

}  // namespace detail

/// Installs the handlers that ask a capture to stop (SIGTERM, SIGINT,
/// SIGHUP) without SA_RESTART, so they interrupt the wait for packets;
/// ignores SIGPIPE.
inline void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = detail::on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

/// Everything a running capture needs.
struct live_job {
    pcap_t* handle = nullptr;     ///< open, activated, filtered
    std::string record_path;      ///< where its record lives
    record rec;                   ///< its record, state=running, updated as it goes
    capture_limits limits;        ///< what ends it besides SIGTERM
    int timeout_ms = 100;         ///< the handle's timeout, for the final drain
    const audit_log* audit = nullptr;  ///< where its end is logged; none: not logged
    mode_t file_mode = 0640;      ///< of its record, each time it is rewritten
};

/// Runs the capture to its end: writes the file through out, rewrites the
/// record every second with the counters (bytes, packets, received, drops,
/// ifdrops), and at the end writes the final record (state stopped, limit
/// with limit=duration|size|count, or failed with reason) and logs it.
/// Returns the final record. Throws nothing it could report in the record.
inline record run_live_capture(live_job& job, pcap_file_out& out) {
    using clock = std::chrono::steady_clock;
    detail::loop_state state;
    state.handle = job.handle;
    state.out = &out;
    state.max_bytes = job.limits.max_bytes;

    std::string failure;
    std::string limit;
    char errbuf[PCAP_ERRBUF_SIZE];
    if (::pcap_setnonblock(job.handle, 1, errbuf) != 0) failure = std::string("pcap_setnonblock: ") + errbuf;
    int fd = ::pcap_get_selectable_fd(job.handle);
    if (fd < 0 && failure.empty()) failure = "the device cannot be waited on";

    auto update_counters = [&] {
        job.rec.set("bytes", std::to_string(out.bytes()));
        job.rec.set("packets", std::to_string(out.packets()));
        pcap_stat st{};
        if (::pcap_stats(job.handle, &st) == 0) {
            job.rec.set("received", std::to_string(st.ps_recv));
            job.rec.set("drops", std::to_string(st.ps_drop));
            job.rec.set("ifdrops", std::to_string(st.ps_ifdrop));
        }
    };
    auto dispatch_once = [&]() -> bool {  // false when the capture must end
        int max = -1;
        if (job.limits.count) {
            if (state.packets >= job.limits.count) return false;
            max = static_cast<int>(std::min<std::uint64_t>(job.limits.count - state.packets, 1 << 20));
        }
        int n = ::pcap_dispatch(job.handle, max, detail::on_packet, reinterpret_cast<u_char*>(&state));
        if (n == PCAP_ERROR) {
            failure = std::string("capture error: ") + ::pcap_geterr(job.handle);
            return false;
        }
        return true;
    };

    auto started = clock::now();
    auto last_flush = started;
    while (failure.empty() && !detail::stop_signal) {
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, job.timeout_ms);
        if (r < 0 && errno != EINTR) {
            failure = system_failure("poll").what();
            break;
        }
        if (!dispatch_once()) break;
        if (out.write_errno()) break;
        if (state.size_reached) {
            limit = "size";
            break;
        }
        if (job.limits.count && state.packets >= job.limits.count) {
            limit = "count";
            break;
        }
        auto now = clock::now();
        if (job.limits.duration_s &&
            now - started >= std::chrono::seconds(static_cast<std::int64_t>(job.limits.duration_s))) {
            limit = "duration";
            break;
        }
        if (now - last_flush >= std::chrono::seconds(1)) {
            last_flush = now;
            if (!out.flush()) break;
            update_counters();
            job.rec.set("updated", format_iso8601(std::time(nullptr)));
            try {
                write_record_file(job.record_path, job.rec, job.file_mode);
            } catch (const error&) {
                // The counters are news, not state: the next second tries again.
            }
        }
    }
    // Packets that arrived before the stop sit in a block the kernel has
    // not handed over yet; it does within the handle's timeout.
    if (failure.empty() && !out.write_errno() && limit.empty()) {
        auto drain_until = clock::now() + std::chrono::milliseconds(2 * job.timeout_ms + 50);
        bool more = true;
        while (more && clock::now() < drain_until && !state.size_reached &&
               !(job.limits.count && state.packets >= job.limits.count)) {
            pollfd p{fd, POLLIN, 0};
            ::poll(&p, 1, 20);
            more = dispatch_once() && !out.write_errno();
        }
        // Once more when the time is up: on a busy machine the capture may
        // have been kept off the CPU for all of it, the block still unread.
        if (more && !state.size_reached && !(job.limits.count && state.packets >= job.limits.count))
            dispatch_once();
    }
    out.close();
    if (out.write_errno()) failure = std::string("writing the capture file: ") + errno_text(out.write_errno());
    update_counters();
    job.rec.erase("updated");

    std::string final_state = !failure.empty() ? "failed" : !limit.empty() ? "limit" : "stopped";
    job.rec.set("state", final_state);
    job.rec.set("ended", format_iso8601(std::time(nullptr)));
    if (!limit.empty()) job.rec.set("limit", limit);
    if (!failure.empty()) job.rec.set("reason", failure);
    if (job.audit) {
        record details{{"id", job.rec.get("id")}, {"analyst", job.rec.get("analyst")}, {"file", job.rec.get("file")}};
        if (!limit.empty()) details.set("limit", limit);
        if (!failure.empty()) details.set("reason", failure);
        details.set("packets", job.rec.get("packets"));
        details.set("drops", job.rec.get("drops"));
        const char* action = !failure.empty() ? "fail" : !limit.empty() ? "limit" : "end";
        // No terminal is left to say a failure on: the record keeps it.
        if (auto problem = job.audit->log(action, final_state, details)) job.rec.set("audit_error", *problem);
    }
    try {
        dir_lock lock(detail::dir_of(job.record_path));
        write_record_file(job.record_path, job.rec, job.file_mode, true);
    } catch (const error&) {
        // Nothing left to tell: cap-ls will find the process gone and say dead.
    }
    return job.rec;
}

}  // namespace capture
