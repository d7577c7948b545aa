package io.mqttdynamo.delivery;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import com.fasterxml.jackson.databind.JsonNode;

import io.smallrye.mutiny.Uni;

/** The part of EMQX 4's REST API that subscribes clients (HTTP Basic with an AppID and its secret). */
@Path("/api/v4")
public interface Emqx4Api {

    /**
     * {@code POST /api/v4/mqtt/subscribe_batch} with {@code [{"topic", "qos", "clientid"}]}; 200 with
     * {@code {"code": 0, "data": [{"topic", "code"}]}}, a non-zero code for each subscription that failed.
     */
    @POST
    @Path("/mqtt/subscribe_batch")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    Uni<JsonNode> subscribeBatch(
            @HeaderParam("Authorization") String authorization, List<Map<String, Object>> subscriptions);
}
