// Merging capture files: packets of many inputs in timestamp order, as
// mergecap does, or one input after the other.
//
// The order is mergecap's: at each step the packet with the earliest
// timestamp among the inputs' next packets, so an input that is itself out
// of order comes out as mergecap gives it. On a tie the earlier input goes
// first (a stable merge, as sort -m); mergecap 4.0 takes the later one
// (its is_earlier() is true on equality and it scans every input), which
// later_input_first reproduces, for byte-identical output.
//
// Inputs are opened lazily. A first pass (plan_merge) reads only each
// file's header and first packet; the merge then opens an input when the
// merge frontier reaches that first packet, and closes it at its end. With
// the time-ordered rolling archives sensors leave, most inputs do not
// overlap, so however many files are merged only the few that overlap the
// frontier are open. An open input holds a memory mapping, not a file
// descriptor (the reader closes it once mapped), so RLIMIT_NOFILE never
// limits a merge; what does is the number of mappings, and when there are
// more inputs than max_open the merge runs as a tree: groups of max_open
// consecutive inputs are merged into hidden temporary files, then those
// files (consecutive groups keep ties in input order; inputs that are each
// in time order give the same bytes as one pass).
//
// Packets go from the readers' mappings into the writer's buffer in one
// copy. (Handing writev() pointers into the mappings instead, so the
// kernel's copy is the only one, measured slower: the kernel then copies
// from memory not yet in cache, where our copy leaves a 256 KiB buffer hot
// in L2 for it.) The heap holds the keys
// inline, and after a packet is written the input it came from is put back
// with one sift-down, which is a single comparison when the next packet
// comes from the same input again.
//
// An input cut short while it is merged reads as zeros past its new end
// (fd.hpp); its reader sees that at the latest when it reads on, right
// after its packet was written, and that packet is then taken back if its
// bytes had gone.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/atomic_file.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/pcap/capture_writer.hpp"
#include "capture/sys/error.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace capture {

/// An interface of an input, as the plan saw it.
struct merge_interface {
    std::uint32_t linktype = 0;  ///< LINKTYPE_ value
    std::uint32_t snaplen = 0;   ///< as in the file (0: none given)
};

/// One input that could be read, as the first pass saw it.
struct merge_input {
    std::size_t index = 0;       ///< position among all the inputs given (ties go to the lower)
    std::string path;            ///< the file
    timestamp first;             ///< its first packet's time
    bool empty = false;          ///< it holds no packets
    std::uint64_t bytes = 0;     ///< its size
    std::vector<merge_interface> interfaces;  ///< the interfaces that lead the file
};

/// What the first pass found: the inputs that can be read, those that
/// cannot, and how the output must be written.
struct merge_plan {
    std::vector<merge_input> inputs;        ///< readable inputs, in input order
    std::vector<std::string> failures;      ///< "PATH: why" for each input that cannot be read
    std::size_t given = 0;                  ///< how many inputs were given
    bool nanoseconds = false;               ///< some input has finer than microsecond timestamps
    std::vector<std::uint32_t> linktypes;   ///< the distinct link types, in order of appearance
    std::uint32_t snaplen = 0;              ///< the largest snapshot length (0 counts as 262144)
};

/// How a merge runs.
struct merge_settings {
    bool concatenate = false;        ///< one input after the other instead of time order
    bool later_input_first = false;  ///< on equal timestamps the later input first, as mergecap 4.0 does
    std::size_t max_open = 8192;     ///< inputs mapped at once at most; more merge as a tree
    std::string temp_dir = ".";      ///< where a tree merge puts its temporary files
};

/// What a merge did.
struct merge_result {
    std::uint64_t packets = 0;           ///< packets written
    std::vector<std::string> failures;   ///< "PATH: why (at byte N)" for inputs that broke part way
};

/// The first pass: opens each path, reads its header and first packet,
/// closes it. An input that cannot be opened or whose first record is
/// broken is a failure (named with its reason) and is left out. Throws
/// only std::bad_alloc.
inline merge_plan plan_merge(const std::vector<std::string>& paths) {
    merge_plan plan;
    plan.given = paths.size();
    for (std::size_t i = 0; i < paths.size(); ++i) {
        merge_input in;
        in.index = i;
        in.path = paths[i];
        try {
            capture_reader r(paths[i]);
            packet_view p;
            in.bytes = r.file_size();
            in.empty = !r.next(p);
            if (!in.empty) in.first = p.ts;
            for (const auto& f : r.interfaces()) {
                in.interfaces.push_back(merge_interface{f.linktype, f.snaplen});
                if (f.ts_digits > 6) plan.nanoseconds = true;
            }
        } catch (const std::exception& e) {
            plan.failures.push_back(e.what());
            continue;
        }
        for (const auto& f : in.interfaces) {
            if (std::find(plan.linktypes.begin(), plan.linktypes.end(), f.linktype) == plan.linktypes.end())
                plan.linktypes.push_back(f.linktype);
            plan.snaplen = std::max(plan.snaplen, f.snaplen ? f.snaplen : standard_max_snaplen);
        }
        plan.inputs.push_back(std::move(in));
    }
    return plan;
}

/// Declares the plan's interfaces on a writer, in input order, so every
/// interface block comes first and a pcap header carries the largest
/// snapshot length. Throws error when the writer is pcap and the inputs
/// have more than one link type.
inline void declare_interfaces(const merge_plan& plan, capture_writer& out) {
    for (const auto& in : plan.inputs)
        for (const auto& f : in.interfaces) out.add_interface(f.linktype, f.snaplen);
}

namespace detail {

// One open input: its reader, its current packet, and where its interface
// numbers go in the output.
struct merge_source {
    const merge_input* input = nullptr;
    std::optional<capture_reader> reader;  // engaged while open
    packet_view packet;
    std::vector<std::uint32_t> iface_map;
    bool written = false;  // packet went to the output: advance() may take it back
};

// A heap entry: the key inline, so comparisons touch only the heap.
struct merge_key {
    std::int64_t sec;
    std::uint32_t nsec;
    std::uint32_t input;  // the tie-breaker: the input's index among those given (or its reverse)
    std::uint32_t slot;   // where its source is
};

inline bool key_less(const merge_key& a, const merge_key& b) noexcept {
    if (a.sec != b.sec) return a.sec < b.sec;
    if (a.nsec != b.nsec) return a.nsec < b.nsec;
    return a.input < b.input;
}

class merge_engine {
public:
    merge_engine(capture_writer& out, merge_result& result) : out_(out), result_(result) {}

    // Opens an input and reads its first packet; false when it has none
    // (or broke at once, which is recorded).
    bool open(const merge_input& in, merge_source& s) {
        try {
            s.input = &in;
            s.reader.emplace(in.path);
            s.iface_map.clear();
            s.written = false;
            return advance(s);
        } catch (const format_error& e) {
            result_.failures.push_back(e.what());
        } catch (const error& e) {
            result_.failures.push_back(e.what());
        }
        return false;
    }

    // Reads the next packet of s; false at its end or when it broke (the
    // break is recorded: the packets before it were written already).
    bool advance(merge_source& s) {
        const std::uint8_t* data = s.packet.data;  // next() may overwrite s.packet before it throws
        const std::uint32_t caplen = s.packet.caplen;
        try {
            const bool more = s.reader->next(s.packet);
            s.written = false;
            return more;
        } catch (const format_error& e) {
            // Cut short under us: was the packet just written still whole?
            if (s.written && !s.reader->still_holds(data, caplen)) {
                out_.retract_last(caplen);
                --result_.packets;
            }
            result_.failures.push_back(e.what());
            return false;
        }
    }

    // Writes s's current packet; false when the input cannot go on (an
    // interface the output cannot hold), recorded as a failure.
    bool emit(merge_source& s) {
        const std::uint32_t i = s.packet.interface;
        if (i >= s.iface_map.size() && !map_interfaces(s)) return false;
        out_.write(s.packet, s.iface_map[i]);
        ++result_.packets;
        s.written = true;
        return true;
    }

private:
    bool map_interfaces(merge_source& s) {
        const auto& all = s.reader->interfaces();
        try {
            while (s.iface_map.size() < all.size()) {
                const auto& f = all[s.iface_map.size()];
                s.iface_map.push_back(out_.add_interface(f.linktype, f.snaplen));
            }
        } catch (const error& e) {
            result_.failures.push_back(s.input->path + ": interface " + std::to_string(s.iface_map.size()) +
                                       " has link type " + std::to_string(all[s.iface_map.size()].linktype) +
                                       ", which the output cannot hold (" + e.what() + ")");
            return false;
        }
        return true;
    }

    capture_writer& out_;
    merge_result& result_;
};

inline void sift_down(std::vector<merge_key>& heap, std::size_t i) noexcept {
    const std::size_t n = heap.size();
    merge_key moving = heap[i];
    for (;;) {
        std::size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && key_less(heap[child + 1], heap[child])) ++child;
        if (!key_less(heap[child], moving)) break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = moving;
}

inline void sift_up(std::vector<merge_key>& heap, std::size_t i) noexcept {
    merge_key moving = heap[i];
    while (i > 0) {
        std::size_t parent = (i - 1) / 2;
        if (!key_less(moving, heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = moving;
}

inline void concatenate(const std::vector<const merge_input*>& inputs, capture_writer& out, merge_result& result) {
    merge_engine engine(out, result);
    for (const merge_input* in : inputs) {
        if (in->empty) continue;
        merge_source s;
        for (bool more = engine.open(*in, s); more && engine.emit(s); more = engine.advance(s)) {
        }
    }
}

// The single pass: a heap over the open inputs, inputs opened when the
// frontier reaches their first packet.
inline void merge_pass(const std::vector<const merge_input*>& inputs, capture_writer& out, merge_result& result,
                       bool later_input_first) {
    merge_engine engine(out, result);
    // The tie-breaker, so that one comparison of keys orders both ways.
    auto rank = [later_input_first](std::size_t index) {
        return static_cast<std::uint32_t>(later_input_first ? UINT32_MAX - index : index);
    };
    // Not yet opened, in the order the frontier reaches them.
    std::vector<const merge_input*> pending;
    for (const merge_input* in : inputs)
        if (!in->empty) pending.push_back(in);
    auto first_key = [&rank](const merge_input* in) {
        return merge_key{in->first.sec, in->first.nsec, rank(in->index), 0};
    };
    std::stable_sort(pending.begin(), pending.end(), [&](const merge_input* a, const merge_input* b) {
        return key_less(first_key(a), first_key(b));
    });

    std::vector<std::unique_ptr<merge_source>> slots;
    std::vector<std::uint32_t> free_slots;
    std::vector<merge_key> heap;
    std::size_t next = 0;

    auto open_next = [&] {
        const merge_input* in = pending[next++];
        std::uint32_t slot;
        if (!free_slots.empty()) {
            slot = free_slots.back();
            free_slots.pop_back();
        } else {
            slot = static_cast<std::uint32_t>(slots.size());
            slots.push_back(nullptr);
        }
        slots[slot] = std::make_unique<merge_source>();
        merge_source& s = *slots[slot];
        if (!engine.open(*in, s)) {
            slots[slot].reset();
            free_slots.push_back(slot);
            return;
        }
        heap.push_back(merge_key{s.packet.ts.sec, s.packet.ts.nsec, rank(in->index), slot});
        sift_up(heap, heap.size() - 1);
    };

    for (;;) {
        // Open every input whose first packet comes before the earliest
        // packet of those open: with all inputs open, that is the order
        // mergecap would pick them in.
        while (next < pending.size() && (heap.empty() || key_less(first_key(pending[next]), heap.front())))
            open_next();
        if (heap.empty()) break;
        merge_key& top = heap.front();
        merge_source& s = *slots[top.slot];
        if (engine.emit(s) && engine.advance(s)) {
            top.sec = s.packet.ts.sec;
            top.nsec = s.packet.ts.nsec;
        } else {
            slots[top.slot].reset();  // unmaps the input
            free_slots.push_back(top.slot);
            heap.front() = heap.back();
            heap.pop_back();
            if (heap.empty()) continue;
        }
        sift_down(heap, 0);
    }
}

// Removes a tree merge's temporary files however the merge ends.
struct temp_files {
    std::vector<std::string> paths;
    temp_files() = default;
    temp_files(const temp_files&) = delete;
    temp_files& operator=(const temp_files&) = delete;
    ~temp_files() {
        for (const auto& p : paths) ::unlink(p.c_str());
    }
};

}  // namespace detail

/// Merges the plan's inputs into out, in timestamp order (or one after the
/// other with settings.concatenate), declaring the plan's interfaces first.
/// An input that breaks part way is named in the result's failures; its
/// packets before the break are kept and the others go on. Throws error
/// when the output cannot be written or cannot hold the inputs' link types
/// (pcap with several), and when a tree merge cannot make its temporary files.
inline merge_result merge_captures(const merge_plan& plan, capture_writer& out, const merge_settings& settings = {}) {
    merge_result result;
    declare_interfaces(plan, out);
    std::vector<const merge_input*> inputs;
    for (const auto& in : plan.inputs) inputs.push_back(&in);
    const std::size_t max_open = std::max<std::size_t>(settings.max_open, 2);
    if (settings.concatenate) {
        detail::concatenate(inputs, out, result);
        return result;
    }
    if (inputs.size() <= max_open) {
        detail::merge_pass(inputs, out, result, settings.later_input_first);
        return result;
    }
    // A tree: each group of max_open consecutive inputs into a temporary
    // file written as the output is (same format, precision and link
    // types, so nothing is lost), then those files, merged the same way.
    detail::temp_files temps;
    std::vector<std::string> group_paths;
    writer_options options = out.options();
    // Interfaces are told apart by link type and snaplen: a part file must
    // keep the snaplens as declared, or its packets would map to new ones.
    options.raise_snaplen = false;
    options.replace = true;
    options.preallocate = 0;  // the output's estimate is not a part's
    static std::atomic<unsigned> part_number{0};  // unique at every depth of the tree
    for (std::size_t start = 0; start < inputs.size(); start += max_open) {
        const std::size_t end = std::min(inputs.size(), start + max_open);
        // A temporary's name (atomic_file.hpp): a merge killed here leaves
        // parts that cap-ls --clean knows for leftovers.
        const std::string path = temporary_path_for(settings.temp_dir + "/cap-merge-part-" + std::to_string(part_number++));
        capture_writer part = capture_writer::to_file(path, options);
        declare_interfaces(plan, part);  // every part numbers its interfaces as the output does
        merge_result r;
        const std::vector<const merge_input*> group(inputs.begin() + static_cast<std::ptrdiff_t>(start),
                                                    inputs.begin() + static_cast<std::ptrdiff_t>(end));
        detail::merge_pass(group, part, r, settings.later_input_first);
        temps.paths.push_back(path);  // from here on, ours to remove
        part.commit();
        result.failures.insert(result.failures.end(), r.failures.begin(), r.failures.end());
        group_paths.push_back(path);
    }
    merge_plan next = plan_merge(group_paths);
    result.failures.insert(result.failures.end(), next.failures.begin(), next.failures.end());
    merge_result rest = merge_captures(next, out, settings);
    result.packets = rest.packets;
    result.failures.insert(result.failures.end(), rest.failures.begin(), rest.failures.end());
    return result;
}

}  // namespace capture
