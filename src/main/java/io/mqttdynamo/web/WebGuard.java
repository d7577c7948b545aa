package io.mqttdynamo.web;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * In front of every HTTP answer: security headers, and, while no dashboard password is configured, the
 * rule that the dashboard and {@code /api} answer only requests from the loopback interface (as
 * RabbitMQ's default user may only log in from localhost). Probes, metrics and the rest of {@code /q/}
 * stay open.
 */
@ApplicationScoped
public class WebGuard {

    /** No inline script or style, nothing from elsewhere, never inside a frame. */
    public static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self';"
            + " img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
    static final String OPEN_PREFIX = "/q/";
    private static final Pattern IP_LITERAL = Pattern.compile("[0-9A-Fa-f:.]+(%[0-9A-Za-z_.-]+)?");

    private final boolean loginEnabled;

    public WebGuard(MqttDynamoConfig config) {
        this.loginEnabled = config.dashboard().auth().enabled();
    }

    void install(@Observes Router router) {
        // Before the application's routes, static files and RESTEasy.
        router.route().order(-1_000).handler(this::handle);
    }

    void handle(RoutingContext context) {
        String path = context.normalizedPath();
        boolean open = path != null && path.startsWith(OPEN_PREFIX);
        var headers = context.response().headers();
        headers.set("X-Content-Type-Options", "nosniff");
        headers.set("Referrer-Policy", "no-referrer");
        if (!open) {
            // /q/ holds the development UIs (Swagger UI), which need inline script; probes and metrics are data.
            headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
            headers.set("X-Frame-Options", "DENY");
        }
        if (open || loginEnabled || fromLoopback(context.request().connection().remoteAddress())) {
            context.next();
            return;
        }
        refuse(context, path);
    }

    /**
     * True when {@code remote}, the TCP peer of the connection (not a forwarded-for header, which a
     * caller can write), is on the loopback interface: 127.0.0.0/8 or ::1, also IPv4-mapped; a Unix
     * domain socket counts as local. Host names are never looked up.
     */
    public static boolean fromLoopback(SocketAddress remote) {
        if (remote == null) {
            return false;
        }
        if (remote.isDomainSocket()) {
            return true;
        }
        String host = remote.hostAddress();
        if (host == null || !IP_LITERAL.matcher(host).matches()) {
            return false;
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static void refuse(RoutingContext context, String path) {
        String why = "No dashboard password is set, so the dashboard and /api answer only requests from the"
                + " machine itself (the loopback interface). To open them to the network, set"
                + " mqtt-dynamo.dashboard.auth.enabled=true and mqtt-dynamo.dashboard.auth.password"
                + " (MQTT_DYNAMO_DASHBOARD_AUTH_ENABLED and MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD, the password from a"
                + " Secret); or reach it through kubectl port-forward or an SSH tunnel.";
        var response = context.response().setStatusCode(403);
        boolean api = path != null && (path.equals("/api") || path.startsWith("/api/"));
        if (api) {
            response.putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end("{\"status\":403,\"error\":\"" + why + "\"}");
        } else {
            response.putHeader(HttpHeaders.CONTENT_TYPE, "text/html;charset=UTF-8")
                    .end("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mqtt-dynamo: local"
                            + " access only</title></head><body><h1>Local access only</h1><p>" + why
                            + "</p></body></html>\n");
        }
    }
}
