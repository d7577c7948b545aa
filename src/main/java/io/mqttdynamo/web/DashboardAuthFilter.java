package io.mqttdynamo.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import io.mqttdynamo.config.MqttDynamoConfig;

/**
 * Optional login for the dashboard and the API: HTTP basic with one user from configuration. Health and
 * metrics are outside it, so probes and scrapers keep working.
 */
@ApplicationScoped
public class DashboardAuthFilter {

    private final boolean enabled;
    private final byte[] expected;

    public DashboardAuthFilter(MqttDynamoConfig config) {
        MqttDynamoConfig.Dashboard.Auth auth = config.dashboard().auth();
        this.enabled = auth.enabled();
        if (enabled && auth.password().filter(p -> !p.isEmpty()).isEmpty()) {
            throw new IllegalStateException("mqtt-dynamo.dashboard.auth.enabled is true but no password is set:"
                    + " set MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD (for example from a Kubernetes Secret)");
        }
        this.expected = enabled
                ? (auth.username() + ":" + auth.password().get()).getBytes(StandardCharsets.UTF_8)
                : new byte[0];
    }

    @ServerRequestFilter(preMatching = true)
    public Response authenticate(ContainerRequestContext request) {
        if (!enabled) {
            return null;
        }
        String header = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        if (header != null && header.regionMatches(true, 0, "Basic ", 0, 6)) {
            byte[] given;
            try {
                given = Base64.getDecoder().decode(header.substring(6).trim());
            } catch (IllegalArgumentException e) {
                given = new byte[0];
            }
            if (MessageDigest.isEqual(given, expected)) {
                return null;
            }
        }
        return Response.status(Response.Status.UNAUTHORIZED)
                .header(HttpHeaders.WWW_AUTHENTICATE, "Basic realm=\"mqtt-dynamo\", charset=\"UTF-8\"")
                .build();
    }
}
