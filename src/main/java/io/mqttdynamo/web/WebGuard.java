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
 * In front of every HTTP answer: security headers; requests that change something (POST) refused when a
 * browser says another site's page sent them; and, while no dashboard password is configured, the rule
 * that the dashboard and {@code /api} answer only requests from the loopback interface (as RabbitMQ's
 * default user may only log in from localhost). Probes, metrics and the rest of {@code /q/} stay open.
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
        if (!open && changesState(context.request().method().name())
                && !sameOrigin(context.request().getHeader("Sec-Fetch-Site"), context.request().getHeader("Origin"),
                        context.request().getHeader("Host"), context.request().getHeader("X-Forwarded-Host"))) {
            refuseCrossOrigin(context, path);
            return;
        }
        if (open || loginEnabled || fromLoopback(context.request().connection().remoteAddress())) {
            context.next();
            return;
        }
        refuse(context, path);
    }

    private static boolean changesState(String method) {
        return !(method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS"));
    }

    /**
     * False when a browser says the request comes from another site's page: a form there could otherwise
     * make the user's browser, with its login and from the loopback interface, start a restore. Browsers send
     * {@code Sec-Fetch-Site} (older ones at least {@code Origin}) with every POST; other clients (curl) send
     * neither and are let through. Without Sec-Fetch-Site, the Host (or, behind a proxy, X-Forwarded-Host)
     * must be the Origin's.
     */
    static boolean sameOrigin(String fetchSite, String origin, String host, String forwardedHost) {
        if (fetchSite != null) {
            // Trusted alone: under Referrer-Policy no-referrer a browser sends "Origin: null" for its own forms.
            return fetchSite.equals("same-origin") || fetchSite.equals("none");
        }
        if (origin == null) {
            return true;
        }
        int scheme = origin.indexOf("://");
        if (scheme < 0) {
            // "null": a sandboxed or opaque origin.
            return false;
        }
        String authority = origin.substring(scheme + 3);
        return authority.equalsIgnoreCase(host) || authority.equalsIgnoreCase(forwardedHost);
    }

    private static void refuseCrossOrigin(RoutingContext context, String path) {
        String why = "A request from another site's page does not change anything here.";
        var response = context.response().setStatusCode(403);
        if (path != null && (path.equals("/api") || path.startsWith("/api/"))) {
            response.putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end("{\"status\":403,\"error\":\"" + why + "\"}");
        } else {
            response.putHeader(HttpHeaders.CONTENT_TYPE, "text/html;charset=UTF-8")
                    .end("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mqtt-dynamo: refused"
                            + "</title></head><body><h1>Refused</h1><p>" + why + "</p></body></html>\n");
        }
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
