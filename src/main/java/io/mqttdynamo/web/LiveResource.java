package io.mqttdynamo.web;

import java.time.Duration;
import java.util.List;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.jboss.resteasy.reactive.RestStreamElementType;

import io.mqttdynamo.web.RecentActivity;
import io.smallrye.mutiny.Multi;

/**
 * Server-sent events for live pages: which kinds of data changed (at most twice a second), and a tick
 * every two seconds so that counters and the chart move.
 */
@Path("/api/live")
public class LiveResource {

    /** One event: what changed since the previous one (empty on a tick). */
    public record LiveUpdate(List<RecentActivity.Change> changes, double messagesPerSecond, int onlineClients) {
    }

    private final RecentActivity activity;
    private final Throughput throughput;

    public LiveResource(RecentActivity activity, Throughput throughput) {
        this.activity = activity;
        this.throughput = throughput;
    }

    @GET
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.APPLICATION_JSON)
    public Multi<LiveUpdate> live() {
        Multi<List<RecentActivity.Change>> changes = activity.changes()
                .group().intoLists().every(Duration.ofMillis(500))
                .filter(list -> !list.isEmpty())
                .map(list -> list.stream().distinct().toList());
        Multi<List<RecentActivity.Change>> ticks = Multi.createFrom().ticks().every(Duration.ofSeconds(2))
                .map(tick -> List.of());
        return Multi.createBy().merging().streams(changes, ticks)
                .map(list -> new LiveUpdate(list, throughput.snapshot().recentRate(10), activity.onlineCount()));
    }
}
