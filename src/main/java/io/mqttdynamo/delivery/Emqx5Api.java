package io.mqttdynamo.delivery;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
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
     * 200 with the list of subscriptions made, or, when some failed, 200 with {@code {"succeed": [...],
     * "failed": [{"data": [...], "reason": "..."}]}} (emqx_mgmt_util:batch_operation); 404 when the client is not
     * connected to the cluster, and before EMQX 5.7.2 also when the node that took the request does not hold the
     * client (emqx_mgmt_api_clients:subscribe_batch looked in the local channel table only).
     */
    @POST
    @Path("/clients/{clientid}/subscribe/bulk")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    Uni<JsonNode> subscribeBulk(
            @PathParam("clientid") String clientId,
            @HeaderParam("Authorization") String authorization,
            List<Map<String, Object>> subscriptions);

    /** {@code GET /api/v5/clients/{clientid}}: 200 while the cluster knows the client, 404 otherwise. */
    @GET
    @Path("/clients/{clientid}")
    @Produces(MediaType.APPLICATION_JSON)
    Uni<JsonNode> client(@PathParam("clientid") String clientId, @HeaderParam("Authorization") String authorization);
}
