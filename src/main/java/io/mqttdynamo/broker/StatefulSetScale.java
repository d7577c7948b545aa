package io.mqttdynamo.broker;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Tells, when a pod of a Kubernetes StatefulSet stops, whether it leaves for good: a scale-down removes
 * the pods whose ordinal is at or past the new replica count (which the StatefulSet holds before its pods
 * are stopped), while a restart, an eviction or a rolling update brings a pod with the same name back.
 * Reads the StatefulSet from the Kubernetes API with the pod's service account (a Role allowing
 * {@code get} on it). When it cannot tell, it says so, and the caller keeps the sessions.
 */
final class StatefulSetScale {

    static final Path SERVICE_ACCOUNT = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");
    private static final Pattern ORDINAL = Pattern.compile("(.+)-(\\d+)");

    /** What the check found, and why. */
    record Verdict(Decision decision, String reason) {}

    enum Decision {
        LEAVING,
        STAYING,
        UNKNOWN
    }

    private final URI api;
    private final HttpClient http;
    private final String token;
    private final String namespace;
    private final String podName;

    StatefulSetScale(URI api, HttpClient http, String token, String namespace, String podName) {
        this.api = api;
        this.http = http;
        this.token = token;
        this.namespace = namespace;
        this.podName = podName;
    }

    /** The check from inside a pod: the API's in-cluster address, the service account's token and CA. */
    static StatefulSetScale inCluster(String podName) throws IOException, GeneralSecurityException {
        String host = System.getenv("KUBERNETES_SERVICE_HOST");
        String port = System.getenv().getOrDefault("KUBERNETES_SERVICE_PORT", "443");
        if (host == null) {
            throw new IOException("not in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set)");
        }
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream ca = Files.newInputStream(SERVICE_ACCOUNT.resolve("ca.crt"))) {
            int i = 0;
            for (Certificate certificate :
                    CertificateFactory.getInstance("X.509").generateCertificates(ca)) {
                trust.setCertificateEntry("ca-" + i++, certificate);
            }
        }
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, trustManagers.getTrustManagers(), null);
        HttpClient http = HttpClient.newBuilder()
                .sslContext(tls)
                .connectTimeout(Duration.ofSeconds(3))
                .build();
        String hostPart = host.contains(":") ? "[" + host + "]" : host;
        return new StatefulSetScale(
                URI.create("https://" + hostPart + ":" + port),
                http,
                Files.readString(SERVICE_ACCOUNT.resolve("token")).trim(),
                Files.readString(SERVICE_ACCOUNT.resolve("namespace")).trim(),
                podName);
    }

    Verdict check() {
        Matcher name = ORDINAL.matcher(podName == null ? "" : podName);
        if (!name.matches()) {
            return new Verdict(Decision.UNKNOWN, "pod name '" + podName + "' is not <statefulset>-<ordinal>");
        }
        String set = name.group(1);
        long ordinal = Long.parseLong(name.group(2));
        HttpResponse<String> response;
        try {
            response = http.send(
                    HttpRequest.newBuilder(
                                    api.resolve("/apis/apps/v1/namespaces/" + namespace + "/statefulsets/" + set))
                            .header("Authorization", "Bearer " + token)
                            .header("Accept", "application/json")
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Verdict(Decision.UNKNOWN, "the Kubernetes API did not answer: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Verdict(Decision.UNKNOWN, "interrupted");
        }
        if (response.statusCode() == 404) {
            return new Verdict(Decision.LEAVING, "StatefulSet " + set + " is gone");
        }
        if (response.statusCode() != 200) {
            return new Verdict(
                    Decision.UNKNOWN,
                    "reading StatefulSet " + set + " answered HTTP " + response.statusCode()
                            + (response.statusCode() == 403 ? " (is role.yaml applied?)" : ""));
        }
        try {
            JsonNode replicas =
                    new ObjectMapper().readTree(response.body()).path("spec").path("replicas");
            // A missing spec.replicas means 1, as Kubernetes defaults it.
            long count = replicas.isMissingNode() ? 1 : replicas.asLong(-1);
            if (count < 0) {
                return new Verdict(Decision.UNKNOWN, "StatefulSet " + set + " has no readable spec.replicas");
            }
            return ordinal >= count
                    ? new Verdict(
                            Decision.LEAVING,
                            "pod " + podName + " is past StatefulSet " + set + "'s " + count + " replica(s)")
                    : new Verdict(Decision.STAYING, "StatefulSet " + set + " keeps " + count + " replica(s)");
        } catch (IOException e) {
            return new Verdict(Decision.UNKNOWN, "StatefulSet " + set + ": unreadable answer: " + e.getMessage());
        }
    }
}
