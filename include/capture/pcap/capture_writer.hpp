// Writing capture files: classic pcap (micro- or nanosecond, this host's
// byte order) and pcapng (one section, one interface block per interface
// added, Enhanced Packet Blocks), fast.
//
// Packets are copied once, from wherever the caller holds them (usually a
// reader's mapping) into a large buffer that goes to the file with write(2)
// when full: one copy into the buffer and one into the page cache, as `cat`
// does, and no stdio. With options.write_behind the write(2)s run on a
// thread of their own (write_behind.hpp) while the caller fills the next
// buffer: on two cores the kernel's copy no longer waits for the caller's
// work, nor the caller for the copy.
//
// A file is written under a hidden temporary name in its own directory
// (".NAME.PID-START.XXXXXX.tmp", atomic_file.hpp; created with
// O_EXCL|O_NOFOLLOW, mode 0640 before the umask) and published by rename
// (or, over an existing name, an exchange of the two names: see publish())
// when committed, so nobody ever sees half a capture under the final name and a symbolic link planted at the temporary
// name is never followed. A writer destroyed without commit() removes its
// temporary file. flush() leaves what was written so far a valid capture
// file (whole records only, snapshot lengths raised to what was written),
// for a pull that is interrupted.
//
// A tap (write_tap.hpp; tap()) sees every byte as it goes to the file, in
// order, on the thread that writes it: a digest of the output made while
// it is written, instead of reading the file back. A snapshot length
// raised while its header is still in the buffer is raised there, before
// the tap sees it. What changes bytes already shown (a snapshot length
// raised in a header that went to the file, a packet larger than the
// buffer taken back, a failed file cut short) is rare, and is not undone
// in the tap: tap_saw_whole_file() then says false, and whoever wanted the
// digest reads the file.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/atomic_file.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/write_behind.hpp"
#include "capture/sys/write_tap.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace capture {

/// The formats a writer writes.
enum class output_format { pcap, pcapng };

/// How a writer writes.
struct writer_options {
    output_format format = output_format::pcap;  ///< pcap or pcapng
    bool nanoseconds = false;        ///< pcap: magic a1b23c4d; pcapng: if_tsresol 9
    std::size_t buffer_size = std::size_t{1} << 18;  ///< bytes gathered per write(2): 256 KiB stays in L2 for the kernel's copy
    bool replace = true;             ///< commit() replaces an existing file (false: fails on one)
    bool raise_snaplen = true;       ///< raise snapshot lengths in the file to the largest caplen written
    std::uint64_t preallocate = 0;   ///< bytes the file is expected to reach, reserved up front (0: none)
    bool write_behind = false;       ///< write(2)s on a thread of their own, overlapping the caller's work
    /// With write_behind: the bytes written on the caller's thread before
    /// the thread starts (0: from the start). A small file is then written
    /// with no thread at all: a hand-over costs a wake-up of the thread,
    /// which on cores busy with other work can take milliseconds.
    std::uint64_t write_behind_after = 0;
};

/// The largest snapshot length wiretap and libpcap write (WTAP_MAX_PACKET_SIZE_STANDARD).
inline constexpr std::uint32_t standard_max_snaplen = 262144;

namespace detail {

inline void put16(std::uint8_t* p, std::uint16_t v) noexcept { std::memcpy(p, &v, 2); }
inline void put32(std::uint8_t* p, std::uint32_t v) noexcept { std::memcpy(p, &v, 4); }

}  // namespace detail

/// Writes one capture file (or standard output), packet by packet.
class capture_writer {
public:
    /// Creates the hidden temporary file beside path; commit() publishes it
    /// as path. Throws error("PATH: why") when it cannot be created.
    static capture_writer to_file(const std::string& path, writer_options options = {}) {
        capture_writer w(options);
        w.path_ = path;
        std::string::size_type slash = path.rfind('/');
        std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
        if (base.empty() || base == "." || base == "..") throw error(path + ": not a file name");
        for (int attempt = 0; attempt < 100; ++attempt) {
            std::string temp = temporary_path_for(path);
            int fd;
            do fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
            while (fd < 0 && errno == EINTR);
            if (fd >= 0) {
                w.fd_.reset(fd);
                w.temp_ = temp;
                w.seekable_ = true;
                w.reserve(options.preallocate);
                w.start();
                return w;
            }
            if (errno != EEXIST) throw system_failure(path);
        }
        throw error(path + ": could not create a temporary file beside it");
    }

    /// Writes to standard output (descriptor 1, not closed). The caller
    /// refuses a terminal. Throws nothing but std::bad_alloc.
    static capture_writer to_stdout(writer_options options = {}) {
        capture_writer w(options);
        w.path_ = "standard output";
        w.borrowed_fd_ = STDOUT_FILENO;
        w.start();
        return w;
    }

    /// Move-only: the writer owns its descriptor, buffer and temporary file.
    capture_writer(capture_writer&& o) noexcept { *this = std::move(o); }
    capture_writer& operator=(capture_writer&& o) noexcept {
        if (this != &o) {
            abandon();
            options_ = o.options_;
            fd_ = std::move(o.fd_);
            borrowed_fd_ = std::exchange(o.borrowed_fd_, -1);
            path_ = std::move(o.path_);
            temp_ = std::exchange(o.temp_, std::string());
            seekable_ = o.seekable_;
            reserved_ = o.reserved_;
            buf_ = std::move(o.buf_);
            behind_ = std::move(o.behind_);
            used_ = std::exchange(o.used_, 0);
            flushed_ = o.flushed_;
            header_written_ = o.header_written_;
            closed_ = std::exchange(o.closed_, true);
            ifaces_ = std::move(o.ifaces_);
            pcap_linktype_ = o.pcap_linktype_;
            pcap_snaplen_ = o.pcap_snaplen_;
            pcap_max_caplen_ = o.pcap_max_caplen_;
            patched_snaplen_ = o.patched_snaplen_;
            packets_ = o.packets_;
            tap_ = std::exchange(o.tap_, nullptr);
            tap_whole_ = o.tap_whole_;
        }
        return *this;
    }
    capture_writer(const capture_writer&) = delete;
    capture_writer& operator=(const capture_writer&) = delete;
    /// Removes the temporary file unless committed. Throws nothing.
    ~capture_writer() { abandon(); }

    /// Declares an interface and returns its number for write(). pcapng:
    /// one interface block per distinct (link type, snapshot length),
    /// written at once; asking again for the same pair returns the same
    /// number. pcap: one link type only; the snapshot length becomes the
    /// largest asked for (0 counts as 262144). Throws error when pcap is
    /// asked for a second link type.
    std::uint32_t add_interface(std::uint32_t linktype, std::uint32_t snaplen) {
        if (options_.format == output_format::pcap) {
            const std::uint32_t s = snaplen ? snaplen : standard_max_snaplen;
            if (ifaces_.empty()) {
                ifaces_.push_back(interface_slot{linktype, s, 0, 0, s});
                pcap_linktype_ = linktype;
            } else if (linktype != pcap_linktype_) {
                throw error(path_ + ": a pcap file holds one link type (" + std::to_string(pcap_linktype_) +
                            "), not also " + std::to_string(linktype) + "; write pcapng instead");
            }
            pcap_snaplen_ = std::max(pcap_snaplen_, s);
            return 0;
        }
        for (std::size_t i = 0; i < ifaces_.size(); ++i)
            if (!ifaces_[i].named && ifaces_[i].linktype == linktype && ifaces_[i].snaplen == snaplen)
                return static_cast<std::uint32_t>(i);
        // The block: header, link type, reserved, snaplen, [if_tsresol 9], end of options, trailer.
        const std::uint32_t len = options_.nanoseconds ? 32 : 20;
        std::uint8_t b[32] = {};
        detail::put32(b, 1);
        detail::put32(b + 4, len);
        detail::put16(b + 8, static_cast<std::uint16_t>(linktype));
        detail::put32(b + 12, snaplen);
        if (options_.nanoseconds) {
            detail::put16(b + 16, 9);  // if_tsresol
            detail::put16(b + 18, 1);
            b[20] = 9;                 // 10^-9
            // b[24..27]: opt_endofopt
        }
        detail::put32(b + len - 4, len);
        ifaces_.push_back(interface_slot{linktype, snaplen, 0, bytes() + 12, snaplen});
        append(b, len);
        return static_cast<std::uint32_t>(ifaces_.size() - 1);
    }

    /// Declares an interface of its own named name (pcapng if_name, cut to
    /// 255 bytes), even when another has the same link type and snapshot
    /// length: a fleet pull's one interface per sensor, so each packet's
    /// origin survives. pcap: as add_interface (a pcap file names nothing).
    /// Throws as add_interface.
    std::uint32_t add_named_interface(std::uint32_t linktype, std::uint32_t snaplen, const std::string& name) {
        if (options_.format == output_format::pcap) return add_interface(linktype, snaplen);
        const std::string n = name.substr(0, 255);
        const std::uint32_t padded = (static_cast<std::uint32_t>(n.size()) + 3u) & ~3u;
        // Header, link type, reserved, snaplen, if_name, [if_tsresol 9], end of options, trailer.
        const std::uint32_t len = 16 + (n.empty() ? 0 : 4 + padded) + (options_.nanoseconds ? 8 : 0) + 8;
        std::vector<std::uint8_t> b(len, 0);
        detail::put32(b.data(), 1);
        detail::put32(b.data() + 4, len);
        detail::put16(b.data() + 8, static_cast<std::uint16_t>(linktype));
        detail::put32(b.data() + 12, snaplen);
        std::size_t at = 16;
        if (!n.empty()) {
            detail::put16(b.data() + at, 2);  // if_name
            detail::put16(b.data() + at + 2, static_cast<std::uint16_t>(n.size()));
            std::memcpy(b.data() + at + 4, n.data(), n.size());
            at += 4 + padded;
        }
        if (options_.nanoseconds) {
            detail::put16(b.data() + at, 9);  // if_tsresol
            detail::put16(b.data() + at + 2, 1);
            b[at + 4] = 9;  // 10^-9
            at += 8;
        }
        // b[at..at+3]: opt_endofopt
        detail::put32(b.data() + len - 4, len);
        ifaces_.push_back(interface_slot{linktype, snaplen, 0, bytes() + 12, snaplen, true});
        append(b.data(), len);
        return static_cast<std::uint32_t>(ifaces_.size() - 1);
    }

    /// Writes one packet on interface iface (a number add_interface gave).
    /// caplen bytes are copied from data. Throws error("PATH: why") when the
    /// output cannot be written (ENOSPC, EPIPE ...).
    void write(timestamp ts, const std::uint8_t* data, std::uint32_t caplen, std::uint32_t origlen,
               std::uint32_t iface = 0) {
        if (options_.format == output_format::pcap) {
            if (!header_written_) write_pcap_header();
            if (caplen > pcap_max_caplen_) pcap_max_caplen_ = caplen;
            const std::size_t need = 16 + std::size_t{caplen};
            if (buf_size() - used_ < need) drain();
            std::uint8_t* p = buf_.get() + used_;
            detail::put32(p, static_cast<std::uint32_t>(ts.sec));
            detail::put32(p + 4, options_.nanoseconds ? ts.nsec : ts.nsec / 1000);
            detail::put32(p + 8, caplen);
            detail::put32(p + 12, origlen);
            put_data(16, data, caplen, 0);
        } else {
            if (iface >= ifaces_.size()) throw error(path_ + ": packet on an undeclared interface");
            interface_slot& f = ifaces_[iface];
            if (caplen > f.max_caplen) f.max_caplen = caplen;
            const std::uint32_t padded = (caplen + 3u) & ~3u;
            const std::uint32_t len = 32 + padded;
            const std::uint64_t t = options_.nanoseconds
                                        ? static_cast<std::uint64_t>(ts.sec) * 1000000000u + ts.nsec
                                        : static_cast<std::uint64_t>(ts.sec) * 1000000u + ts.nsec / 1000;
            if (buf_size() - used_ < len) drain();
            std::uint8_t* p = buf_.get() + used_;
            detail::put32(p, 6);
            detail::put32(p + 4, len);
            detail::put32(p + 8, iface);
            detail::put32(p + 12, static_cast<std::uint32_t>(t >> 32));
            detail::put32(p + 16, static_cast<std::uint32_t>(t));
            detail::put32(p + 20, caplen);
            detail::put32(p + 24, origlen);
            put_data(28, data, caplen, padded - caplen + 4);
            std::uint8_t* tail = buf_.get() + used_ - 4;
            std::memset(tail - (padded - caplen), 0, padded - caplen);
            detail::put32(tail, len);
        }
        ++packets_;
    }

    /// Takes back the packet just written, of caplen bytes: its bytes
    /// turned out not to be what they should (the file they were copied
    /// from was cut short meanwhile, fd.hpp). Nothing is written in its
    /// place. Throws error when it cannot be taken back (a packet larger
    /// than the buffer, already sent to standard output).
    void retract_last(std::uint32_t caplen) {
        const bool pcap = options_.format == output_format::pcap;
        const std::size_t head = pcap ? 16 : 28;
        const std::size_t tail = pcap ? 0 : ((caplen + 3u) & ~3u) - caplen + 4;
        const std::size_t len = head + caplen + tail;
        if (packets_ == 0) throw error(path_ + ": no packet to take back");
        if (used_ >= len) {  // it is still in the buffer, at its end
            used_ -= len;
        } else if (seekable_ && fd_ && used_ == tail && flushed_ >= head + caplen) {
            // Larger than the buffer: its head and bytes went to the file
            // (send() waited for the thread, which is idle).
            const std::uint64_t start = flushed_ - head - caplen;
            tap_whole_ = false;  // the tap saw what is cut off
            if (::ftruncate(fd_.get(), static_cast<off_t>(start)) != 0 ||
                ::lseek(fd_.get(), static_cast<off_t>(start), SEEK_SET) < 0)
                throw system_failure(path_);
            flushed_ = start;
            used_ = 0;
        } else {
            throw error(path_ + ": cannot take back a packet already written");
        }
        --packets_;
    }

    /// From now on tap sees every byte sent to the file, in order (nullptr:
    /// none), on the thread that writes it (options.write_behind: a thread
    /// of the writer's own). tap must outlive the writer or the next
    /// tap(). Set before the first write(2) (anything but a writer just
    /// made is), it sees the whole file. Throws nothing.
    void tap(write_tap* tap) noexcept {
        if (behind_) behind_->set_tap(tap);
        tap_ = tap;
        tap_whole_ = flushed_ == 0;
    }

    /// True when a tap is set and the bytes it saw are the file's, all of
    /// them, as they are now (after commit(), as published): it came
    /// before the first write(2), and nothing it saw was changed or cut off
    /// since. Throws nothing.
    bool tap_saw_whole_file() const noexcept { return tap_ && tap_whole_; }

    /// Writes a packet as a reader handed it out, on interface iface.
    /// Throws as the other write().
    void write(const packet_view& p, std::uint32_t iface = 0) { write(p.ts, p.data, p.caplen, p.origlen, iface); }

    /// Sends everything buffered to the file and raises snapshot lengths
    /// below a captured length written (a regular file only), so what is
    /// there is a valid capture file. Throws error("PATH: why").
    void flush() {
        if (closed_) return;
        if (options_.format == output_format::pcap && !header_written_ && !ifaces_.empty()) write_pcap_header();
        patch_snaplens(true);  // what is still in the buffer, so that it goes out (and to a tap) as it should be
        drain();
        settle();
        patch_snaplens();
    }

    /// Flushes and publishes the file under its final name (replacing an
    /// existing one unless options.replace is false), or, for standard
    /// output, flushes. Throws error("PATH: why"); the temporary file is
    /// then removed.
    void commit() {
        if (closed_) throw error(path_ + ": already closed");
        try {
            flush();
            behind_.reset();
            if (!temp_.empty()) {
                give_back_reserve();
                if (::close(fd_.release()) != 0) throw system_failure(path_);
                publish();
                temp_.clear();
            }
        } catch (...) {
            abandon();
            throw;
        }
        closed_ = true;
    }

    /// After a write failed (a full disk, say): keeps what reached the
    /// file rather than nothing. The file is cut after its last whole
    /// record (what was buffered, or written only in part, is dropped),
    /// its snapshot lengths raised, and it is published under the final
    /// name as commit() does. Returns the packets it holds. Throws error
    /// when there is nothing to keep (standard output, or not even the
    /// file header reached the file); the temporary file is then removed.
    std::uint64_t keep_written() {
        try {
            if (temp_.empty() || !fd_) throw error(path_ + ": nothing written to keep");
            behind_.reset();  // lets the write in progress end; what was handed over after a failure is dropped
            used_ = 0;
            // The file itself says where its last whole record ends: read
            // it back rather than keep that bookkeeping on the hot path.
            const whole_packets whole = count_whole_packets(temp_);
            tap_whole_ = false;  // what the tap saw may be more than reached the file
            if (::ftruncate(fd_.get(), static_cast<off_t>(whole.end)) != 0) throw system_failure(path_);
            flushed_ = whole.end;
            patch_snaplens();
            if (::close(fd_.release()) != 0) throw system_failure(path_);
            publish();
            temp_.clear();
            packets_ = whole.packets;
        } catch (...) {
            abandon();
            throw;
        }
        closed_ = true;
        return packets_;
    }

    /// Gives up: removes the temporary file (standard output is left as
    /// it is). Throws nothing.
    void abandon() noexcept {
        behind_.reset();  // before the descriptor closes
        if (!temp_.empty()) ::unlink(temp_.c_str());
        temp_.clear();
        fd_.reset();
        closed_ = true;
    }

    /// The final path, or "standard output". Throws nothing.
    const std::string& path() const noexcept { return path_; }
    /// The hidden temporary name (empty for standard output or once committed). Throws nothing.
    const std::string& temp_path() const noexcept { return temp_; }
    /// Packets written so far. Throws nothing.
    std::uint64_t packets() const noexcept { return packets_; }
    /// Bytes of capture file produced so far (buffered ones included). Throws nothing.
    std::uint64_t bytes() const noexcept { return flushed_ + used_; }
    /// The options the writer was made with. Throws nothing.
    const writer_options& options() const noexcept { return options_; }
    /// The interfaces declared: pcap has at most one. Throws nothing.
    std::size_t interface_count() const noexcept { return ifaces_.size(); }
    /// The snapshot length in the pcap header: the largest asked for, raised to
    /// the largest captured length written. Throws nothing.
    std::uint32_t pcap_snaplen() const noexcept { return std::max(pcap_snaplen_, pcap_max_caplen_); }

private:
    struct interface_slot {
        std::uint32_t linktype;
        std::uint32_t snaplen;     // as declared: with the link type, what add_interface matches
        std::uint32_t max_caplen;
        std::uint64_t snaplen_at;  // file offset of the snaplen field (pcapng)
        std::uint32_t written;     // the snaplen in the file now (pcapng; raised by patch_snaplens)
        bool named = false;        // add_named_interface's: never matched by add_interface
    };

    explicit capture_writer(writer_options options) : options_(options) {
        if (options_.buffer_size < 65536) options_.buffer_size = 65536;
    }

    void start() {
        buf_.reset(new std::uint8_t[options_.buffer_size]);
        if (options_.write_behind_after == 0) start_behind();
        closed_ = false;
        if (options_.format == output_format::pcapng) {
            std::uint8_t b[28] = {};
            detail::put32(b, 0x0a0d0d0a);
            detail::put32(b + 4, 28);
            detail::put32(b + 8, 0x1a2b3c4d);
            detail::put16(b + 12, 1);
            detail::put16(b + 14, 0);
            std::memset(b + 16, 0xff, 8);  // section length: not given
            detail::put32(b + 24, 28);
            append(b, sizeof b);
            header_written_ = true;
        }
    }

    int fd() const noexcept { return borrowed_fd_ >= 0 ? borrowed_fd_ : fd_.get(); }

    // Starts the write-behind thread, if asked for and not yet running,
    // and shows it the tap.
    void start_behind() {
        if (!options_.write_behind || behind_) return;
        try {
            behind_ = std::make_unique<write_behind>(fd(), options_.buffer_size);
            if (tap_) behind_->set_tap(tap_);
        } catch (const std::system_error&) {
            // No thread to be had (a process limit, ulimit -u): the
            // caller's thread writes, as it does on one core.
            options_.write_behind = false;
        }
    }

    // Reserves bytes of disk beyond the end of the file, without changing
    // its size: a filesystem that allocates blocks as pages are written
    // (ext4's delayed allocation) then takes the kernel's copy about 12%
    // faster, and the file lies in few extents. A hint: where the
    // filesystem cannot, or has no room, the writes go on as they would.
    void reserve(std::uint64_t bytes) noexcept {
        if (bytes == 0) return;
        reserved_ = ::fallocate(fd_.get(), FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(bytes)) == 0;
    }

    // Gives back what was reserved and not written: truncating to its own
    // size frees a file's blocks beyond its end.
    void give_back_reserve() {
        if (!reserved_) return;
        struct stat st {};
        if (::fstat(fd_.get(), &st) != 0 || ::ftruncate(fd_.get(), st.st_size) != 0) throw system_failure(path_);
        reserved_ = false;
    }
    std::size_t buf_size() const noexcept { return options_.buffer_size; }

    void write_pcap_header() {
        if (ifaces_.empty()) throw error(path_ + ": no link type declared for the pcap header");
        std::uint8_t h[24];
        detail::put32(h, options_.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4);
        detail::put16(h + 4, 2);
        detail::put16(h + 6, 4);
        detail::put32(h + 8, 0);   // thiszone
        detail::put32(h + 12, 0);  // sigfigs
        detail::put32(h + 16, pcap_snaplen_);
        detail::put32(h + 20, pcap_linktype_);
        patched_snaplen_ = pcap_snaplen_;
        header_written_ = true;
        append(h, sizeof h);
    }

    void append(const std::uint8_t* p, std::size_t n) {
        if (buf_size() - used_ < n) drain();
        std::memcpy(buf_.get() + used_, p, n);
        used_ += n;
    }

    // Copies a record whose header (head bytes) is already at buf_+used_:
    // the data, then leaves room for tail more bytes the caller fills. A
    // record larger than the buffer (some link types allow 128 MiB) goes
    // straight from the caller's memory to the file.
    void put_data(std::size_t head, const std::uint8_t* data, std::uint32_t caplen, std::size_t tail) {
        if (head + caplen + tail <= buf_size() - used_) {
            // An empty packet may come with no pointer at all (a pull's
            // copies of nothing but empty packets): memcpy must not see it.
            if (caplen != 0) std::memcpy(buf_.get() + used_ + head, data, caplen);
            used_ += head + caplen + tail;
            return;
        }
        used_ += head;
        drain();
        send(data, caplen);
        used_ = tail;  // the caller writes the tail at the start of the buffer
    }

    void drain() {
        if (used_ == 0) return;
        if (!behind_ && options_.write_behind && flushed_ + used_ > options_.write_behind_after) start_behind();
        if (behind_) {
            if (closed_) throw error(path_ + ": write after close");
            if (int err = behind_->hand_over(buf_, used_)) throw system_failure(path_, err);
            flushed_ += used_;
        } else {
            send(buf_.get(), used_);
        }
        used_ = 0;
    }

    // Writes n bytes from p now, after whatever the thread still writes.
    void send(const std::uint8_t* p, std::size_t n) {
        if (closed_) throw error(path_ + ": write after close");
        settle();
        if (tap_) tap_->saw(p, n);
        if (int err = write_fully(fd(), p, n)) throw system_failure(path_, err);
        flushed_ += n;
    }

    // Waits until the thread has written everything handed over (if there
    // is one), so that the file holds flushed_ bytes.
    void settle() {
        if (!behind_) return;
        if (int err = behind_->finish()) throw system_failure(path_, err);
    }

    // Raises snapshot lengths in the file to the largest captured length
    // written (libpcap cuts packets to the snaplen otherwise). Only where we
    // own a regular file: standard output cannot be rewritten. A field
    // still in the buffer is changed there, before the tap sees it; with
    // in_buffer_only, only those (the file is rewritten once the thread
    // has written what it holds).
    void patch_snaplens(bool in_buffer_only = false) {
        if (!seekable_ || !fd_ || !options_.raise_snaplen) return;
        if (options_.format == output_format::pcap) {
            std::uint32_t want = pcap_snaplen();
            if (!header_written_ || want == patched_snaplen_) return;
            if (patch_u32(16, want, in_buffer_only)) patched_snaplen_ = want;
            return;
        }
        for (auto& f : ifaces_) {
            if (f.written == 0 || f.max_caplen <= f.written) continue;
            if (patch_u32(f.snaplen_at, f.max_caplen, in_buffer_only)) f.written = f.max_caplen;
        }
    }

    // Puts v at offset at of the file: in the buffer while it is there,
    // else (unless in_buffer_only) in the file once it has reached it.
    // Returns whether it was put.
    bool patch_u32(std::uint64_t at, std::uint32_t v, bool in_buffer_only) {
        if (at >= flushed_ && at + 4 <= flushed_ + used_) {
            detail::put32(buf_.get() + (at - flushed_), v);
            return true;
        }
        if (in_buffer_only || at + 4 > flushed_) return false;
        std::uint8_t b[4];
        detail::put32(b, v);
        tap_whole_ = false;  // the bytes the tap saw there are no longer the file's
        if (::pwrite(fd_.get(), b, 4, static_cast<off_t>(at)) != 4) throw system_failure(path_);
        return true;
    }

    void publish() {
        if (options_.replace) {
#ifdef RENAME_EXCHANGE
            // ext4 (auto_da_alloc) writes a file back before a rename over
            // another file returns, on the caller's clock: 0.1 s of a
            // 0.28 s pull of 256 MiB, whose final name holds its running
            // link. Exchanging the two names is as atomic at path, and
            // leaves writeback to the kernel, as for every other capture
            // (none is fsync'ed). The temporary name then holds what path
            // held, removed at once. ENOENT: nothing at path to exchange
            // with; EINVAL: a file system without the exchange.
            if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_EXCHANGE) == 0) {
                if (::unlink(temp_.c_str()) == 0 || errno != EISDIR) return;
                // path was a directory, which rename(2) would have refused:
                // each name gets its own back, and the same refusal.
                ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_EXCHANGE);
                throw system_failure(path_, EISDIR);
            }
#endif
            if (::rename(temp_.c_str(), path_.c_str()) != 0) throw system_failure(path_);
            return;
        }
        // link() fails with EEXIST instead of replacing: an existing capture is never lost.
        if (::link(temp_.c_str(), path_.c_str()) != 0) throw system_failure(path_);
        ::unlink(temp_.c_str());
    }

    writer_options options_;
    unique_fd fd_;
    int borrowed_fd_ = -1;
    std::string path_;
    std::string temp_;
    bool seekable_ = false;
    bool reserved_ = false;  // blocks beyond the end were reserved (reserve())
    std::unique_ptr<std::uint8_t[]> buf_;
    std::unique_ptr<write_behind> behind_;  // the thread for write(2)s (options_.write_behind); declared after buf_
    std::size_t used_ = 0;
    std::uint64_t flushed_ = 0;
    bool header_written_ = false;
    bool closed_ = true;
    std::vector<interface_slot> ifaces_;
    std::uint32_t pcap_linktype_ = 0;
    std::uint32_t pcap_snaplen_ = 0;
    std::uint32_t pcap_max_caplen_ = 0;
    std::uint32_t patched_snaplen_ = 0;
    std::uint64_t packets_ = 0;
    write_tap* tap_ = nullptr;  // sees every byte sent (tap()); borrowed
    bool tap_whole_ = false;    // tap_ saw the file's bytes, all of them, as they are
};

}  // namespace capture
