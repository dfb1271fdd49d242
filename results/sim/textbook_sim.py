#!/usr/bin/env python3
"""Textbook FCFS / EASY-backfilling simulator on an SWF file: the plain Python baseline that
`deborgen bench sim-speed` measures the compiled engine against (results/sim/README.md).

Usage: textbook_sim.py WORKLOAD.swf fcfs|easy
Rigid jobs take processors from one pool (MaxProcs). Event order as deborgen's simulator: at each
instant, job ends, then arrivals, then one scheduling pass. Prints the loop time and the metrics;
they must equal deborgen's (same records in the same finishing order, same float sums)."""
import heapq, sys, time
from collections import deque

def read_swf(path):
    procs, jobs = None, []
    for line in open(path):
        if line.startswith(';'):
            k, _, v = line[1:].partition(':')
            if k.strip().lower() == 'maxprocs': procs = int(v)
            continue
        f = line.split()
        if len(f) != 18: continue
        run, cpus = float(f[3]), float(f[7]) if float(f[7]) > 0 else float(f[4])
        if run < 0 or cpus <= 0 or float(f[1]) < 0: continue
        rt = int(run * 1e6)
        est = int(float(f[8]) * 1e6) if float(f[8]) > 0 else rt
        jobs.append((int(float(f[1]) * 1e6), len(jobs), int(cpus), max(est, 1), rt))
    jobs.sort()
    return procs or max(j[2] for j in jobs), jobs

def simulate(procs, jobs, easy):
    free, queue, running, ends, records, seq, nxt = procs, deque(), {}, [], [], 0, 0
    def start(job, now):
        nonlocal free, seq
        free -= job[2]
        running[seq] = (now + job[3], job[2])            # estimated end, processors
        heapq.heappush(ends, (now + job[4], seq, job, now))
        seq += 1
    while nxt < len(jobs) or ends:
        now = min(ends[0][0] if ends else float('inf'), jobs[nxt][0] if nxt < len(jobs) else float('inf'))
        while ends and ends[0][0] == now:                 # 1. job ends
            _, s, job, began = heapq.heappop(ends)
            free += job[2]
            del running[s]
            records.append((job[0], began, now, job[2]))
        while nxt < len(jobs) and jobs[nxt][0] == now:    # 2. arrivals (too large: rejected)
            if jobs[nxt][2] <= procs: queue.append(jobs[nxt])
            nxt += 1
        while queue and queue[0][2] <= free:              # 3. FCFS: start in order while it fits
            start(queue.popleft(), now)
        if not easy or not queue: continue
        head = queue[0]                                   # EASY: the head's shadow time ...
        avail, shadow = free, None
        for end, cpus in sorted((max(e, now + 1), c) for e, c in running.values()):
            if shadow is not None and end != shadow: break
            avail += cpus
            if shadow is None and avail >= head[2]: shadow = end
        extra = avail - head[2]                           # ... and the processors it leaves
        waiting, keep = list(queue), [head]
        for k in range(1, len(waiting)):                  # backfill behind the head
            job = waiting[k]
            if free == 0:
                keep.extend(waiting[k:])
                break
            if job[2] <= free and (now + job[3] <= shadow or job[2] <= extra):
                if now + job[3] > shadow: extra -= job[2]
                start(job, now)
            else:
                keep.append(job)
        queue = deque(keep)
    return records

if __name__ == '__main__':
    procs, jobs = read_swf(sys.argv[1])
    t0 = time.perf_counter()
    recs = simulate(procs, jobs, sys.argv[2] == 'easy')
    loop = time.perf_counter() - t0
    waits = [b - s for s, b, e, c in recs]
    sum_wait = sum_bsld = 0.0
    for s, b, e, c in recs:
        sum_wait += float(b - s)
        sum_bsld += max(1.0, float(e - s) / float(max(e - b, 10_000_000)))
    print(f"loop_s={loop:.6f} jobs={len(recs)} events={len(jobs) + len(recs)} total_wait_us={sum(waits)} "
          f"max_wait_us={max(waits)} mean_wait_s={sum_wait / len(recs) / 1e6!r} "
          f"mean_bsld={sum_bsld / len(recs)!r} makespan_us={max(r[2] for r in recs) - min(r[0] for r in recs)}")
