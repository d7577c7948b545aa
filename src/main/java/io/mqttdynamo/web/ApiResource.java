package io.mqttdynamo.web;

import java.util.List;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import io.mqttdynamo.store.Rows;
import io.smallrye.mutiny.Uni;

/**
 * The JSON API: the dashboard's data for scripts and other tools. Listings are pages
 * ({@code {"items": [...], "next": "<cursor>"}}); pass {@code cursor=<next>} for the following page.
 */
@Path("/api")
@Produces(MediaType.APPLICATION_JSON)
public class ApiResource {

    /** A client with what hangs off it. */
    public record ClientDetail(Rows.Client client, List<Rows.Subscription> subscriptions, Rows.Page<Rows.Ack> acks) {}

    /** A topic's unacknowledged messages and the ones this instance stored lately. */
    public record TopicMessages(String topic, List<MessageJson> pending, List<MessageJson> recent) {}

    /**
     * A message: {@code payload} is the text, or null with {@code payloadBase64} for binary payloads.
     * {@code payloadTruncated}: the stored item holds no payload (too large; both are null).
     * {@code previewCut}: {@code payload} / {@code payloadBase64} hold only the start of the payload
     * ({@code payloadSize} bytes in all), as listings and the recent messages kept in memory do.
     */
    public record MessageJson(
            String msgId,
            String topic,
            int qos,
            String sender,
            boolean retain,
            long arrived,
            String payload,
            String payloadBase64,
            int payloadSize,
            boolean payloadTruncated,
            boolean previewCut) {

        static MessageJson of(MessageView m) {
            return new MessageJson(
                    m.msgId(),
                    m.topic(),
                    m.qos(),
                    m.sender(),
                    m.retain(),
                    m.arrivedMillis(),
                    m.payload().text(),
                    m.payload().base64(),
                    m.payload().size(),
                    m.payload().truncated(),
                    m.payload().previewCut());
        }
    }

    /** An error: what went wrong and what to do. */
    public record ApiError(int status, String error) {}

    private final DashboardData data;

    public ApiResource(DashboardData data) {
        this.data = data;
    }

    @Operation(summary = "Clients, a page at a time")
    @APIResponse(responseCode = "200", description = "a page: {\"items\", \"next\"}")
    @APIResponse(
            responseCode = "400",
            description =
                    "a bad parameter (limit, cursor, filter, a key over DynamoDB's limits): {\"status\", \"error\"}")
    @GET
    @Path("clients")
    public Uni<Rows.Page<Rows.Client>> clients(
            @QueryParam("online") boolean online,
            @QueryParam("q") String prefix,
            @QueryParam("node") String node,
            @QueryParam("cursor") String cursor,
            @QueryParam("limit") String limit) {
        return data.clients(online, prefix, node, cursor, limit);
    }

    @Operation(summary = "A client with its subscriptions and a page of its acks")
    @APIResponse(responseCode = "200", description = "the client")
    @APIResponse(
            responseCode = "400",
            description =
                    "a bad parameter (limit, cursor, filter, a key over DynamoDB's limits): {\"status\", \"error\"}")
    @APIResponse(responseCode = "404", description = "no such client")
    @GET
    @Path("clients/{id: .+}")
    public Uni<ClientDetail> client(@PathParam("id") String clientId, @QueryParam("cursor") String acksCursor) {
        return data.client(clientId)
                .map(found -> found.orElseThrow(() -> new NotFoundException("no client '" + clientId + "'")))
                .flatMap(client -> Uni.combine()
                        .all()
                        .unis(data.subscriptionsOf(clientId), data.acksOf(clientId, acksCursor))
                        .with((subscriptions, acks) -> new ClientDetail(client, subscriptions, acks)));
    }

    @Operation(summary = "Subscriptions, a page at a time")
    @APIResponse(responseCode = "200", description = "a page: {\"items\", \"next\"}")
    @APIResponse(
            responseCode = "400",
            description =
                    "a bad parameter (limit, cursor, filter, a key over DynamoDB's limits): {\"status\", \"error\"}")
    @GET
    @Path("subscriptions")
    public Uni<Rows.Page<Rows.Subscription>> subscriptions(
            @QueryParam("q") String q, @QueryParam("cursor") String cursor, @QueryParam("limit") String limit) {
        return data.subscriptions(q, cursor, limit);
    }

    /**
     * Retained messages on topics matching {@code filter} (all when none), a page at a time, each with the start
     * of its payload ({@link MessageView#LISTED_PAYLOAD_BYTES} bytes at most, {@code previewCut} when cut).
     */
    @Operation(summary = "Retained messages on topics matching a filter, a page at a time (payloads: their first KB)")
    @APIResponse(responseCode = "200", description = "a page: {\"items\", \"next\"}")
    @APIResponse(
            responseCode = "400",
            description =
                    "a bad parameter (limit, cursor, filter, a key over DynamoDB's limits): {\"status\", \"error\"}")
    @GET
    @Path("retained")
    public Uni<Rows.Page<MessageJson>> retained(
            @QueryParam("filter") String filter,
            @QueryParam("cursor") String cursor,
            @QueryParam("limit") String limit,
            @Parameter(hidden = true) @QueryParam("topic") String topic) {
        if (topic != null) {
            throw new IllegalArgumentException("/api/retained lists retained messages by 'filter'; one topic's"
                    + " retained message is at /api/retained/message?topic=<topic>");
        }
        return data.retained(filter, cursor, limit)
                .map(page -> new Rows.Page<>(
                        page.items().stream().map(MessageJson::of).toList(), page.next()));
    }

    /** The retained message of {@code topic}, whole; 404 when the topic has none. */
    @Operation(summary = "The retained message of one topic, whole")
    @APIResponse(responseCode = "200", description = "the message")
    @APIResponse(
            responseCode = "400",
            description =
                    "a bad parameter (limit, cursor, filter, a key over DynamoDB's limits): {\"status\", \"error\"}")
    @APIResponse(responseCode = "404", description = "no retained message on the topic")
    @GET
    @Path("retained/message")
    public Uni<MessageJson> retainedMessage(@QueryParam("topic") String topic) {
        return data.retainedOf(topic)
                .map(found -> MessageJson.of(
                        found.orElseThrow(() -> new NotFoundException("no retained message on '" + topic + "'"))));
    }

    @Operation(summary = "A topic's pending and recent messages (payloads: their first KB)")
    @APIResponse(responseCode = "200", description = "the messages")
    @APIResponse(
            responseCode = "400",
            description =
                    "a bad parameter (limit, cursor, filter, a key over DynamoDB's limits): {\"status\", \"error\"}")
    @GET
    @Path("messages")
    public Uni<TopicMessages> messages(@QueryParam("topic") String topic) {
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("the 'topic' query parameter is required");
        }
        List<MessageJson> recent =
                data.recent(topic, 50).stream().map(MessageJson::of).toList();
        return data.pending(topic)
                .map(pending -> new TopicMessages(
                        topic, pending.stream().map(MessageJson::of).toList(), recent));
    }

    /** A stored message (mqtt_msg) by its id, whole; 404 when none is stored under it. */
    @Operation(summary = "A stored message by its msgid, whole")
    @APIResponse(responseCode = "200", description = "the message")
    @APIResponse(
            responseCode = "400",
            description = "a bad parameter (a key over DynamoDB's limits): {\"status\", \"error\"}")
    @APIResponse(responseCode = "404", description = "no message stored under the id")
    @GET
    @Path("messages/{msgid}")
    public Uni<MessageJson> message(@PathParam("msgid") String msgId) {
        return data.message(msgId)
                .map(found -> MessageJson.of(
                        found.orElseThrow(() -> new NotFoundException("no message '" + msgId + "' stored"))));
    }

    @Operation(summary = "Counts, health and the last minutes of throughput as per-second series")
    @APIResponse(responseCode = "200", description = "the numbers")
    @GET
    @Path("stats")
    public Uni<Overview> stats() {
        return data.overview();
    }

    @ServerExceptionMapper
    public Response badRequest(IllegalArgumentException e) {
        return Response.status(400)
                .type(MediaType.APPLICATION_JSON)
                .entity(new ApiError(400, e.getMessage()))
                .build();
    }

    @ServerExceptionMapper
    public Response notFound(NotFoundException e) {
        return Response.status(404)
                .type(MediaType.APPLICATION_JSON)
                .entity(new ApiError(404, e.getMessage()))
                .build();
    }
}
