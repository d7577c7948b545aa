package io.mqttdynamo.config;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * What the broker connections' TLS needs from {@code mqtt-dynamo.broker.tls.*}, read from its PEM files: whom to
 * trust ({@code ca-file}; the JVM's trust store when unset) and the client certificate with its key
 * ({@code cert-file}, {@code key-file}). Reading checks what can be checked before connecting (files readable,
 * certificate and key a pair); each problem names its property and what to do.
 */
public final class BrokerTls {

    public static final String CA_FILE = "mqtt-dynamo.broker.tls.ca-file";
    public static final String CERT_FILE = "mqtt-dynamo.broker.tls.cert-file";
    public static final String KEY_FILE = "mqtt-dynamo.broker.tls.key-file";
    public static final String HOSTNAME_VERIFICATION = "mqtt-dynamo.broker.tls.hostname-verification";

    /** Protects the in-memory key store only: the key comes from, and stays as safe as, its file. */
    private static final char[] STORE_PASSWORD = "mqtt-dynamo".toCharArray();

    private final TrustManagerFactory trustManagers;
    private final KeyManagerFactory keyManagers;
    private final X509Certificate clientCertificate;
    private final boolean hostnameVerification;

    private BrokerTls(
            TrustManagerFactory trustManagers,
            KeyManagerFactory keyManagers,
            X509Certificate clientCertificate,
            boolean hostnameVerification) {
        this.trustManagers = trustManagers;
        this.keyManagers = keyManagers;
        this.clientCertificate = clientCertificate;
        this.hostnameVerification = hostnameVerification;
    }

    /** The outcome of reading the files: the TLS material when there is no problem, and what was found. */
    public record Reading(Optional<BrokerTls> tls, List<String> problems, List<String> warnings) {}

    /** Reads the files {@code settings} name; certificates are judged valid or not at {@code now}. */
    public static Reading read(MqttDynamoConfig.Tls settings, Instant now) {
        List<String> problems = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        TrustManagerFactory trust = null;
        if (settings.caFile().isPresent()) {
            String file = settings.caFile().get();
            try {
                List<X509Certificate> authorities = PemFiles.certificates(Path.of(file));
                authorities.forEach(ca -> validity(CA_FILE, file, ca, now, warnings));
                trust = trustManagers(authorities);
            } catch (PemFiles.PemException | RuntimeException e) {
                problems.add(CA_FILE + " = " + file + ": " + e.getMessage() + ". Set it to the PEM file of the CA that"
                        + " signed the broker's certificate (AWS IoT Core: AmazonRootCA1.pem), as mounted in the"
                        + " container, or unset it to trust the JVM's trust store");
            }
        }
        KeyManagerFactory keys = null;
        X509Certificate client = null;
        Optional<String> certFile = settings.certFile();
        Optional<String> keyFile = settings.keyFile();
        if (certFile.isPresent() != keyFile.isPresent()) {
            String set = certFile.isPresent() ? CERT_FILE : KEY_FILE;
            String missing = certFile.isPresent() ? KEY_FILE : CERT_FILE;
            problems.add(set + " is set without " + missing + ": a client certificate needs its private key. Set"
                    + " both (AWS IoT Core: the device certificate and its private key, downloaded together) or"
                    + " neither");
        } else if (certFile.isPresent()) {
            List<X509Certificate> chain = null;
            PrivateKey key = null;
            try {
                chain = PemFiles.certificates(Path.of(certFile.get()));
                validity(CERT_FILE, certFile.get(), chain.get(0), now, warnings);
            } catch (PemFiles.PemException | RuntimeException e) {
                problems.add(CERT_FILE + " = " + certFile.get() + ": " + e.getMessage() + ". Set it to the PEM file of"
                        + " the client certificate (AWS IoT Core: the device certificate, …-certificate.pem.crt), as"
                        + " mounted in the container");
            }
            try {
                key = PemFiles.privateKey(Path.of(keyFile.get()));
            } catch (PemFiles.PemException | RuntimeException e) {
                problems.add(KEY_FILE + " = " + keyFile.get() + ": " + e.getMessage() + ". Set it to the PEM file of"
                        + " the client certificate's private key (AWS IoT Core: …-private.pem.key), as mounted in the"
                        + " container");
            }
            if (chain != null && key != null) {
                if (!PemFiles.matches(key, chain.get(0))) {
                    problems.add(KEY_FILE + " = " + keyFile.get() + ": not the private key of the certificate in "
                            + CERT_FILE + " = " + certFile.get() + " (" + describe(chain.get(0))
                            + (key.getAlgorithm()
                                            .equals(chain.get(0).getPublicKey().getAlgorithm())
                                    ? ""
                                    : "; its key is "
                                            + chain.get(0).getPublicKey().getAlgorithm() + ", this one "
                                            + key.getAlgorithm())
                            + "). Set the two to a certificate and the key it was issued for (AWS IoT Core hands them"
                            + " out together; the certificate comes first in its file)");
                } else {
                    try {
                        keys = keyManagers(key, chain);
                        client = chain.get(0);
                    } catch (GeneralSecurityException | RuntimeException e) {
                        problems.add(KEY_FILE + " = " + keyFile.get() + ": the key cannot be used for TLS ("
                                + e.getMessage() + ")");
                    }
                }
            }
        }
        Optional<BrokerTls> tls = problems.isEmpty()
                ? Optional.of(new BrokerTls(trust, keys, client, settings.hostnameVerification()))
                : Optional.empty();
        return new Reading(tls, List.copyOf(problems), List.copyOf(warnings));
    }

    /** Reads the files; fails listing the problems ({@link ConfigCheck} has refused the start before). */
    public static BrokerTls load(MqttDynamoConfig.Tls settings) {
        Reading reading = read(settings, Instant.now());
        if (!reading.problems().isEmpty()) {
            throw ConfigCheck.refusal(reading.problems());
        }
        return reading.tls().orElseThrow();
    }

    /** Trust these instead of the JVM's trust store; empty: the JVM's. */
    public Optional<TrustManagerFactory> trustManagers() {
        return Optional.ofNullable(trustManagers);
    }

    /** The client certificate to present; empty: none. */
    public Optional<KeyManagerFactory> keyManagers() {
        return Optional.ofNullable(keyManagers);
    }

    /** Whether the broker's certificate must name the host connected to. */
    public boolean hostnameVerification() {
        return hostnameVerification;
    }

    /** For the log: whom the connections trust and which certificate they present. */
    public String describe() {
        return "TLS, trusting " + (trustManagers == null ? "the JVM's trust store" : CA_FILE)
                + (clientCertificate == null
                        ? ", no client certificate"
                        : ", client certificate " + describe(clientCertificate))
                + (hostnameVerification ? "" : ", host name not verified");
    }

    private static String describe(X509Certificate certificate) {
        return certificate.getSubjectX500Principal().getName() + ", serial "
                + certificate.getSerialNumber().toString(16);
    }

    private static void validity(
            String property, String file, X509Certificate certificate, Instant now, List<String> warnings) {
        if (certificate.getNotAfter().toInstant().isBefore(now)) {
            warnings.add(property + " = " + file + ": the certificate " + describe(certificate) + " expired on "
                    + certificate.getNotAfter().toInstant() + ": TLS handshakes with it fail. Put a current one in its"
                    + " place");
        } else if (certificate.getNotBefore().toInstant().isAfter(now)) {
            warnings.add(property + " = " + file + ": the certificate " + describe(certificate) + " is not valid"
                    + " before " + certificate.getNotBefore().toInstant() + " (is this machine's clock right?)");
        }
    }

    private static TrustManagerFactory trustManagers(List<X509Certificate> authorities) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < authorities.size(); i++) {
                store.setCertificateEntry("ca-" + i, authorities.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            return factory;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot make a trust store (" + e.getMessage() + ")", e);
        }
    }

    private static KeyManagerFactory keyManagers(PrivateKey key, List<X509Certificate> chain)
            throws GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try {
            store.load(null, null);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        store.setKeyEntry("client", key, STORE_PASSWORD, chain.toArray(new Certificate[0]));
        KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        factory.init(store, STORE_PASSWORD);
        return factory;
    }
}
