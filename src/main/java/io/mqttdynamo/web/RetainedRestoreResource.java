package io.mqttdynamo.web;

import java.util.Map;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.mqttdynamo.delivery.RetainedSync;
import io.smallrye.mutiny.Uni;

/**
 * {@code POST /api/retained/restore}: puts the broker's retained messages and mqtt_retain in step;
 * {@code GET}: how far the running or last run got.
 */
@Path("/api/retained/restore")
public class RetainedRestoreResource {

    private final RetainedSync sync;

    public RetainedRestoreResource(RetainedSync sync) {
        this.sync = sync;
    }

    /**
     * 200 with what was found and done; 409 while a run is in progress or when on_retain_lookup is off;
     * 502 when the broker or DynamoDB failed.
     */
    @POST
    @Produces(MediaType.APPLICATION_JSON)
    public Uni<Response> restore() {
        return sync.sync()
                .map(report -> Response.ok(report).build())
                .onFailure()
                .recoverWithItem(failure -> {
                    int status = failure instanceof RetainedSync.NotNowException ? 409 : 502;
                    return Response.status(status)
                            .entity(Map.of("status", status, "error", String.valueOf(failure.getMessage())))
                            .type(MediaType.APPLICATION_JSON)
                            .build();
                });
    }

    /** The running or last run's phase and counts ({@code phase} {@code none} when none ran since start). */
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public RetainedSync.Progress progress() {
        return sync.progress();
    }
}
