package io.mqttdynamo.web;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * In front of every HTTP answer: security headers; requests that change something (POST) refused when a
 * browser says another site's page sent them; and, while no dashboard password is configured, the rule
 * that the dashboard and {@code /api} answer only requests from the loopback interface (as RabbitMQ's
 * default user may only log in from localhost) that name the machine itself, or a configured name, as their
 * host: a web page whose own name its DNS points at 127.0.0.1 (DNS rebinding) reaches the loopback interface
 * from the user's browser, but under its own name. Probes, metrics and the rest of {@code /q/} stay open.
 */
@ApplicationScoped
public class WebGuard {

    /** No inline script or style, nothing from elsewhere, never inside a frame. */
    public static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self';"
            + " img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    static final String OPEN_PREFIX = "/q/";
    private static final Pattern IP_LITERAL = Pattern.compile("[0-9A-Fa-f:.]+(%[0-9A-Za-z_.-]+)?");

    private final boolean loginEnabled;
    private final Set<String> allowedHosts;

    public WebGuard(MqttDynamoConfig config) {
        this.loginEnabled = config.dashboard().auth().enabled();
        this.allowedHosts = config.dashboard().allowedHosts().orElse(List.of()).stream()
                .map(WebGuard::normalHost)
                .collect(Collectors.toUnmodifiableSet());
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
        if (!open
                && changesState(context.request().method().name())
                && !sameOrigin(
                        context.request().getHeader("Sec-Fetch-Site"),
                        context.request().getHeader("Origin"),
                        context.request().getHeader("Host"),
                        context.request().getHeader("X-Forwarded-Host"))) {
            refuseCrossOrigin(context, path);
            return;
        }
        if (open || loginEnabled) {
            context.next();
            return;
        }
        if (!fromLoopback(context.request().connection().remoteAddress())) {
            refuse(context, path);
        } else if (!knownHost(authority(context.request()), allowedHosts)) {
            refuseHost(context, path);
        } else {
            context.next();
        }
    }

    /** The host the request names: the Host header, or HTTP/2's :authority. */
    private static String authority(HttpServerRequest request) {
        String host = request.getHeader(HttpHeaders.HOST);
        if (host == null && request.authority() != null) {
            host = request.authority().toString();
        }
        return host;
    }

    /**
     * Whether {@code authority} (a Host header: a name or address and perhaps a port) names this machine:
     * {@code localhost}, a loopback address (127.0.0.0/8, {@code [::1]}), or one of {@code allowed} (lower
     * case, without trailing dot); any port. Names are compared, never looked up.
     */
    static boolean knownHost(String authority, Set<String> allowed) {
        if (authority == null || authority.isBlank()) {
            return false;
        }
        String host = authority.strip();
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            if (end < 0 || !(end == host.length() - 1 || host.charAt(end + 1) == ':')) {
                return false;
            }
            host = host.substring(0, end + 1);
        } else {
            int colon = host.indexOf(':');
            if (colon >= 0) {
                host = host.substring(0, colon);
            }
        }
        host = normalHost(host);
        if (host.equals("localhost") || allowed.contains(host)) {
            return true;
        }
        String literal = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        // An address only: a name is never looked up (InetAddress would resolve it).
        if (!IP_LITERAL.matcher(literal).matches()
                || literal.contains("%")
                || !(literal.contains(":") || literal.matches("\\d{1,3}(\\.\\d{1,3}){3}"))) {
            return false;
        }
        try {
            return InetAddress.getByName(literal).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** A host name as compared: lower case, without the trailing dot of a fully qualified name. */
    private static String normalHost(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
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
            response.putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end("{\"status\":403,\"error\":\"" + why + "\"}");
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

    private static void refuseHost(RoutingContext context, String path) {
        String why = "No dashboard password is set, so the dashboard and /api answer only requests that name this"
                + " machine (localhost, 127.0.0.1, [::1]) or a configured host name: a web page could otherwise"
                + " reach them from your browser under a name of its own that it points at 127.0.0.1. To open them"
                + " under another name, add it to mqtt-dynamo.dashboard.allowed-hosts"
                + " (MQTT_DYNAMO_DASHBOARD_ALLOWED_HOSTS, comma-separated), or set a dashboard password"
                + " (mqtt-dynamo.dashboard.auth.enabled=true and mqtt-dynamo.dashboard.auth.password).";
        // 421 Misdirected Request: this server does not answer for the host the request names (RFC 9110, 15.5.20).
        var response = context.response().setStatusCode(421);
        boolean api = path != null && (path.equals("/api") || path.startsWith("/api/"));
        if (api) {
            response.putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end("{\"status\":421,\"error\":\"" + why + "\"}");
        } else {
            response.putHeader(HttpHeaders.CONTENT_TYPE, "text/html;charset=UTF-8")
                    .end("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mqtt-dynamo: unknown"
                            + " host</title></head><body><h1>Unknown host name</h1><p>" + why + "</p></body></html>\n");
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
