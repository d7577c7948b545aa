package io.mqttdynamo.delivery;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import com.fasterxml.jackson.databind.JsonNode;

import io.smallrye.mutiny.Uni;

/** The part of EMQX 5's REST API that subscribes a client (HTTP Basic with an API key and secret). */
@Path("/api/v5")
public interface Emqx5Api {

    /**
     * {@code POST /api/v5/clients/{clientid}/subscribe/bulk} with {@code [{"topic", "qos", "nl", "rap", "rh"}]};
     * 200 with the subscriptions made, 404 when the client is not connected to the cluster.
     */
    @POST
    @Path("/clients/{clientid}/subscribe/bulk")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    Uni<JsonNode> subscribeBulk(@PathParam("clientid") String clientId,
            @HeaderParam("Authorization") String authorization, List<Map<String, Object>> subscriptions);
}
