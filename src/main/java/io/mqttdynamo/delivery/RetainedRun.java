package io.mqttdynamo.delivery;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.mqttdynamo.store.ClusterLease;
import io.smallrye.mutiny.Uni;

/**
 * One comparison of the broker's retained messages with mqtt_retain: its phase and counts, written as it goes
 * and read as its progress, the lease it holds, and the stores it started that may outlive a phase.
 */
final class RetainedRun {

    final long startedAt = System.currentTimeMillis();
    volatile String phase = "collecting";
    volatile long finishedAt;
    volatile String error;
    final AtomicLong brokerRetained = new AtomicLong();
    final AtomicLong checked = new AtomicLong();
    final AtomicLong tableRetained = new AtomicLong();
    final AtomicLong stored = new AtomicLong();
    final AtomicLong republished = new AtomicLong();
    final AtomicLong notRepublishable = new AtomicLong();
    final AtomicLong keptOnBroker = new AtomicLong();
    final AtomicBoolean tooManyTopics = new AtomicBoolean();
    volatile ClusterLease.Held lease;
    /** Stores of missing rows handed to the pipeline and not yet done. */
    private final Set<Uni<Void>> storing = ConcurrentHashMap.newKeySet();

    /** Why the run must stop, once it can no longer be sure it holds the lease; else null. */
    IllegalStateException leaseLost() {
        ClusterLease.Held held = lease;
        return held == null || !held.lost()
                ? null
                : new IllegalStateException("this run lost the lease of "
                        + RetainedSync.LEASE_JOB + " (its renewal did not get through in time): another replica may be"
                        + " comparing, this one stops");
    }

    /**
     * Starts a store that goes on to its end whether or not anyone still waits for it (a memoized Uni: a
     * subscriber that cancels leaves it running), until then among those {@link #storesDone()} waits for.
     */
    Uni<Void> storing(Uni<Void> store) {
        Uni<Void> started = store.memoize().indefinitely();
        storing.add(started);
        started.onTermination()
                .invoke(() -> storing.remove(started))
                .subscribe()
                .with(ok -> {}, failure -> {
                    // its waiter, if any, deals with the failure
                });
        return started;
    }

    /** Completes when the stores under way are done, stored or failed. */
    Uni<Void> storesDone() {
        List<Uni<Void>> underWay = List.copyOf(storing);
        if (underWay.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return Uni.join()
                .all(underWay)
                .andCollectFailures()
                .replaceWithVoid()
                .onFailure()
                .recoverWithNull();
    }

    long passedOver() {
        return phase.equals("collecting") ? 0 : Math.max(0, brokerRetained.get() - checked.get());
    }

    RetainedSync.Progress progress() {
        return new RetainedSync.Progress(
                phase,
                finishedAt == 0,
                startedAt,
                finishedAt,
                brokerRetained.get(),
                tableRetained.get(),
                stored.get(),
                republished.get(),
                notRepublishable.get(),
                passedOver(),
                keptOnBroker.get(),
                error);
    }

    RetainedSync.Report report() {
        return new RetainedSync.Report(
                (int) brokerRetained.get(),
                (int) tableRetained.get(),
                (int) stored.get(),
                (int) republished.get(),
                (int) notRepublishable.get(),
                (int) passedOver(),
                (int) keptOnBroker.get());
    }
}
