// read_bench: how fast capture_reader reads capture files, beside libpcap's
// pcap_next_ex over the same files in the same run.
//
// usage: read_bench [--repeat N] FILE...
//
// Each reader makes one warm-up pass (so both find the files in the page
// cache), then N timed passes (default 3); the median is reported. Both
// loops touch the first byte of every packet and sum the captured lengths,
// so neither can skip the packet or be optimised away. MB/s is file bytes
// (10^6) per second.
//
// Build: g++ -std=c++17 -O2 -Iinclude bench/read_bench.cpp -lpcap -o read_bench
#include "capture/pcap/capture_reader.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct totals {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;       // sum of captured lengths
    std::uint64_t file_bytes = 0;
    std::uint64_t check = 0;       // first bytes summed: keeps the loops honest
};

totals with_capture_reader(const std::vector<std::string>& files) {
    totals t;
    for (const auto& f : files) {
        try {
            capture::capture_reader r(f);
            t.file_bytes += r.file_size();
            capture::packet_view p;
            while (r.next(p)) {
                ++t.packets;
                t.bytes += p.caplen;
                if (p.caplen) t.check += p.data[0];
            }
        } catch (const capture::error& e) {
            std::fprintf(stderr, "read_bench: %s\n", e.what());
        }
    }
    return t;
}

totals with_libpcap(const std::vector<std::string>& files) {
    totals t;
    char errbuf[PCAP_ERRBUF_SIZE];
    for (const auto& f : files) {
        pcap_t* p = pcap_open_offline_with_tstamp_precision(f.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (!p) {
            std::fprintf(stderr, "read_bench: %s: %s\n", f.c_str(), errbuf);
            continue;
        }
        struct pcap_pkthdr* h;
        const u_char* data;
        int rc;
        while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
            ++t.packets;
            t.bytes += h->caplen;
            if (h->caplen) t.check += data[0];
        }
        if (rc == PCAP_ERROR) std::fprintf(stderr, "read_bench: %s: %s\n", f.c_str(), pcap_geterr(p));
        pcap_close(p);
        FILE* fp = std::fopen(f.c_str(), "rb");
        if (fp) {
            std::fseek(fp, 0, SEEK_END);
            t.file_bytes += static_cast<std::uint64_t>(std::ftell(fp));
            std::fclose(fp);
        }
    }
    return t;
}

template <typename F>
double median_seconds(F run, int repeat, totals& out) {
    out = run();  // warm-up
    std::vector<double> seconds;
    for (int i = 0; i < repeat; ++i) {
        auto start = std::chrono::steady_clock::now();
        totals t = run();
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (t.packets != out.packets || t.check != out.check) std::fprintf(stderr, "read_bench: passes differ\n");
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
}

void report(const char* who, const totals& t, double s) {
    std::printf("%-15s packets %llu  bytes %llu  file bytes %llu  seconds %.4f  %.1f MB/s  %.2f Mpkt/s\n", who,
                static_cast<unsigned long long>(t.packets), static_cast<unsigned long long>(t.bytes),
                static_cast<unsigned long long>(t.file_bytes), s, static_cast<double>(t.file_bytes) / 1e6 / s,
                static_cast<double>(t.packets) / 1e6 / s);
}

}  // namespace

int main(int argc, char** argv) {
    int repeat = 3;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = std::max(1, std::atoi(argv[++i]));
        } else if (std::strcmp(argv[i], "--help") == 0 || argv[i][0] == '-') {
            std::fprintf(stderr, "usage: read_bench [--repeat N] FILE...\n");
            return argv[i][1] == '-' && argv[i][2] == 'h' ? 0 : 2;
        } else {
            files.push_back(argv[i]);
        }
    }
    if (files.empty()) {
        std::fprintf(stderr, "usage: read_bench [--repeat N] FILE...\n");
        return 2;
    }
    totals ours, theirs;
    double s_ours = median_seconds([&] { return with_capture_reader(files); }, repeat, ours);
    double s_theirs = median_seconds([&] { return with_libpcap(files); }, repeat, theirs);
    std::printf("median of %d passes over %zu file(s)\n", repeat, files.size());
    report("capture_reader", ours, s_ours);
    report("libpcap", theirs, s_theirs);
    std::printf("speed-up: %.2fx (libpcap seconds / capture_reader seconds)\n", s_theirs / s_ours);
    if (ours.packets != theirs.packets || ours.check != theirs.check)
        std::printf("note: the readers disagree on packets or contents (libpcap clips caplen to the snaplen and "
                    "refuses what it cannot read)\n");
    return 0;
}
