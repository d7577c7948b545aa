package io.mqttdynamo.support;

import static io.restassured.RestAssured.given;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.eclipse.microprofile.config.ConfigProvider;

import io.restassured.RestAssured;

/** Waits until the application under test is ready: broker sessions subscribed, tables active. */
public final class Readiness {

    private static final String PATH = "/q/health/ready";

    private Readiness() {}

    public static void await() {
        boolean proxyProtocol = ConfigProvider.getConfig()
                .getOptionalValue("quarkus.http.proxy.use-proxy-protocol", Boolean.class)
                .orElse(false);
        AtomicReference<String> last = new AtomicReference<>();
        try {
            Awaitility.await("application ready (" + PATH + ")")
                    .atMost(Duration.ofSeconds(Long.getLong("io.mqttdynamo.test.ready-seconds", 60)))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        if (proxyProtocol) {
                            String response = behindProxyProtocol(PATH);
                            last.set(response);
                            return response.startsWith("HTTP/1.1 200 ");
                        }
                        var response = given().get(PATH);
                        last.set(response.asString());
                        return response.statusCode() == 200;
                    });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("not ready within 60 s; " + PATH + " said: " + last.get(), e);
        }
    }

    /**
     * The whole answer to a GET of {@code path} from a loopback caller, on a server that reads the PROXY
     * protocol header first (as {@link EmbeddedVariantProfile} configures).
     */
    private static String behindProxyProtocol(String path) throws IOException {
        int port = RestAssured.port;
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("PROXY TCP4 127.0.0.1 127.0.0.1 40000 " + port + "\r\nGET " + path + " HTTP/1.1\r\n"
                            + "Host: localhost\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
