package io.mqttdynamo.web;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.jboss.resteasy.reactive.RestStreamElementType;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.smallrye.mutiny.Multi;

/**
 * Server-sent events for live pages: which kinds of data changed (at most twice a second), and a tick
 * every two seconds so that counters and the chart move. Bounded: at most
 * {@code mqtt-dynamo.dashboard.live.max-streams} streams at once (one more gets 503 with Retry-After), each
 * ended after {@code max-age} (the browser's EventSource opens a new one). A stream whose client went away
 * ends at the next tick, when writing to it fails.
 */
@ApplicationScoped
@Path("/api/live")
public class LiveResource {

    /** Seconds a refused client is asked to wait. */
    static final int RETRY_AFTER_SECONDS = 30;

    /** One event: what changed since the previous one (empty on a tick); the rate is the cluster's. */
    public record LiveUpdate(List<RecentActivity.Change> changes, double messagesPerSecond, int onlineClients) {}

    private final RecentActivity activity;
    private final DashboardData data;
    private final int maxStreams;
    private final Duration maxAge;
    private final AtomicInteger open = new AtomicInteger();

    public LiveResource(RecentActivity activity, DashboardData data, MqttDynamoConfig config) {
        this.activity = activity;
        this.data = data;
        this.maxStreams = config.dashboard().live().maxStreams();
        this.maxAge = config.dashboard().live().maxAge();
    }

    @GET
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.APPLICATION_JSON)
    public Multi<LiveUpdate> live() {
        if (open.incrementAndGet() > maxStreams) {
            open.decrementAndGet();
            throw new WebApplicationException(Response.status(Response.Status.SERVICE_UNAVAILABLE)
                    .header("Retry-After", Integer.toString(RETRY_AFTER_SECONDS))
                    .type(MediaType.APPLICATION_JSON)
                    .entity(new ApiResource.ApiError(
                            503,
                            "too many live streams open (" + maxStreams
                                    + ", mqtt-dynamo.dashboard.live.max-streams): try again in " + RETRY_AFTER_SECONDS
                                    + " s"))
                    .build());
        }
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                open.decrementAndGet();
            }
        };
        Multi<List<RecentActivity.Change>> changes = activity.changes()
                .group()
                .intoLists()
                .every(Duration.ofMillis(500))
                .filter(list -> !list.isEmpty())
                .map(list -> list.stream().distinct().toList());
        Multi<List<RecentActivity.Change>> ticks =
                Multi.createFrom().ticks().every(Duration.ofSeconds(2)).map(tick -> List.of());
        return Multi.createBy()
                .merging()
                .streams(changes, ticks)
                .map(list -> new LiveUpdate(list, data.clusterRate(), activity.onlineCount()))
                .select()
                .first(maxAge)
                .onTermination()
                .invoke(release);
    }

    /** Streams open now. */
    public int openStreams() {
        return open.get();
    }
}
