package io.mqttdynamo.web;

import java.net.URI;
import java.util.List;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import io.mqttdynamo.delivery.RetainedSync;
import io.mqttdynamo.store.Rows;
import io.quarkus.qute.CheckedTemplate;
import io.quarkus.qute.TemplateInstance;
import io.smallrye.mutiny.Uni;

/**
 * The dashboard: server-rendered pages (usable without JavaScript) and the page fragments that the
 * page's script re-fetches when the live stream says something changed.
 */
@Path("/")
@Produces(MediaType.TEXT_HTML)
public class DashboardResource {

    /** Rows of the dashboard's own tables. */
    static final int OVERVIEW_ROWS = 10;

    @CheckedTemplate
    static class Templates {
        static native TemplateInstance index(
                Overview overview,
                Rows.Page<Rows.Client> online,
                Rows.Page<MessageView> retained,
                List<MessageView> recent);

        static native TemplateInstance index$overview(Overview overview);

        static native TemplateInstance index$online(Rows.Page<Rows.Client> online);

        static native TemplateInstance index$retained(Rows.Page<MessageView> retained);

        static native TemplateInstance index$recent(List<MessageView> recent);

        static native TemplateInstance clients(Rows.Page<Rows.Client> page, boolean online, String q, String node);

        static native TemplateInstance client(
                Rows.Client client, List<Rows.Subscription> subscriptions, Rows.Page<Rows.Ack> acks);

        static native TemplateInstance subscriptions(Rows.Page<Rows.Subscription> page, String q);

        static native TemplateInstance retained(
                Rows.Page<MessageView> page, String filter, RetainedSync.Progress restore);

        static native TemplateInstance retainedMessage(MessageView message);

        static native TemplateInstance topic(String topic, List<MessageView> pending, List<MessageView> recent);

        static native TemplateInstance error(int status, String message);
    }

    private final DashboardData data;
    private final RetainedSync sync;

    public DashboardResource(DashboardData data, RetainedSync sync) {
        this.data = data;
        this.sync = sync;
    }

    @GET
    public Uni<TemplateInstance> index() {
        return Uni.combine()
                .all()
                .unis(data.overview(), data.clients(true, OVERVIEW_ROWS), data.retained(OVERVIEW_ROWS))
                .with((overview, online, retained) ->
                        Templates.index(overview, online, retained, data.recent(null, OVERVIEW_ROWS)));
    }

    @GET
    @Path("fragments/overview")
    public Uni<TemplateInstance> overviewFragment() {
        return data.overview().map(Templates::index$overview);
    }

    @GET
    @Path("fragments/online")
    public Uni<TemplateInstance> onlineFragment() {
        return data.clients(true, OVERVIEW_ROWS).map(Templates::index$online);
    }

    @GET
    @Path("fragments/retained")
    public Uni<TemplateInstance> retainedFragment() {
        return data.retained(OVERVIEW_ROWS).map(Templates::index$retained);
    }

    @GET
    @Path("fragments/recent")
    public TemplateInstance recentFragment() {
        return Templates.index$recent(data.recent(null, OVERVIEW_ROWS));
    }

    @GET
    @Path("clients")
    public Uni<TemplateInstance> clients(
            @QueryParam("online") boolean online,
            @QueryParam("q") String q,
            @QueryParam("node") String node,
            @QueryParam("cursor") String cursor) {
        return data.clients(online, q, node, cursor, null).map(page -> Templates.clients(page, online, q, node));
    }

    @GET
    @Path("clients/{id: .+}")
    public Uni<TemplateInstance> client(@PathParam("id") String clientId, @QueryParam("cursor") String cursor) {
        return data.client(clientId)
                .map(found -> found.orElseThrow(() -> new NotFoundException("no client " + clientId)))
                .flatMap(client -> Uni.combine()
                        .all()
                        .unis(data.subscriptionsOf(clientId), data.acksOf(clientId, cursor))
                        .with((subscriptions, acks) -> Templates.client(client, subscriptions, acks)));
    }

    @GET
    @Path("subscriptions")
    public Uni<TemplateInstance> subscriptions(@QueryParam("q") String q, @QueryParam("cursor") String cursor) {
        return data.subscriptions(q, cursor, null).map(page -> Templates.subscriptions(page, q));
    }

    @GET
    @Path("retained")
    public Uni<TemplateInstance> retained(@QueryParam("filter") String filter, @QueryParam("cursor") String cursor) {
        return data.retained(filter, cursor, null).map(page -> Templates.retained(page, filter, sync.progress()));
    }

    /** The retained page's button: starts a restore and goes back to the page, which shows its progress. */
    @POST
    @Path("retained/restore")
    public Response restoreRetained() {
        try {
            sync.start();
        } catch (RetainedSync.NotNowException e) {
            if (!sync.progress().running()) {
                return Response.status(409)
                        .type(MediaType.TEXT_HTML)
                        .entity(Templates.error(409, e.getMessage()))
                        .build();
            }
            // A run is going (pressed twice, or another tab): the retained page shows its progress.
        }
        return Response.seeOther(URI.create("/retained")).build();
    }

    @GET
    @Path("retained/message")
    public Uni<TemplateInstance> retainedMessage(@QueryParam("topic") String topic) {
        return data.retainedOf(topic)
                .map(found -> Templates.retainedMessage(
                        found.orElseThrow(() -> new NotFoundException("no retained message on " + topic))));
    }

    @GET
    @Path("topic")
    public Uni<TemplateInstance> topic(@QueryParam("topic") String topic) {
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("give a topic: /topic?topic=…");
        }
        return data.pending(topic).map(pending -> Templates.topic(topic, pending, data.recent(topic, 50)));
    }

    @ServerExceptionMapper
    public Response badRequest(IllegalArgumentException e) {
        return Response.status(400)
                .type(MediaType.TEXT_HTML)
                .entity(Templates.error(400, e.getMessage()))
                .build();
    }

    @ServerExceptionMapper
    public Response notFound(NotFoundException e) {
        return Response.status(404)
                .type(MediaType.TEXT_HTML)
                .entity(Templates.error(404, e.getMessage()))
                .build();
    }
}
