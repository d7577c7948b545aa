package io.mqttdynamo.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.mqttdynamo.support.TestCertificates;

/**
 * The broker TLS files: certificates and keys in the PEM forms a Secret holds (AWS IoT's PKCS#1 RSA key among
 * them), and the start-up refusals that name the property (a missing file, a key that is not the certificate's,
 * a certificate without key).
 */
class BrokerTlsFilesTest {

    @TempDir
    static Path dir;

    @BeforeAll
    static void certificates() {
        TestCertificates.generate(dir);
    }

    static String file(String name) {
        return dir.resolve(name).toString();
    }

    static X509Certificate certificate(String name) throws PemFiles.PemException {
        return PemFiles.certificates(dir.resolve(name)).get(0);
    }

    static PrivateKey key(String name) throws PemFiles.PemException {
        return PemFiles.privateKey(dir.resolve(name));
    }

    @Test
    void keysAreReadInThePemFormsTheyComeIn() throws Exception {
        X509Certificate rsa = certificate(TestCertificates.CLIENT_CERT);
        assertThat(Files.readString(dir.resolve(TestCertificates.CLIENT_KEY_RSA)))
                .startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertThat(Files.readString(dir.resolve(TestCertificates.CLIENT_KEY_PKCS8)))
                .startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(PemFiles.matches(key(TestCertificates.CLIENT_KEY_RSA), rsa))
                .as("PKCS#1")
                .isTrue();
        assertThat(PemFiles.matches(key(TestCertificates.CLIENT_KEY_PKCS8), rsa))
                .as("PKCS#8")
                .isTrue();
        assertThat(key(TestCertificates.CLIENT_KEY_RSA).getEncoded())
                .isEqualTo(key(TestCertificates.CLIENT_KEY_PKCS8).getEncoded());

        X509Certificate ec = certificate(TestCertificates.EC_CERT);
        assertThat(Files.readString(dir.resolve(TestCertificates.EC_KEY_SEC1)))
                .startsWith("-----BEGIN EC PARAMETERS-----")
                .contains("-----BEGIN EC PRIVATE KEY-----");
        assertThat(PemFiles.matches(key(TestCertificates.EC_KEY_SEC1), ec))
                .as("SEC1")
                .isTrue();
        assertThat(PemFiles.matches(key(TestCertificates.EC_KEY_PKCS8), ec))
                .as("EC PKCS#8")
                .isTrue();

        assertThat(PemFiles.matches(key(TestCertificates.ED25519_KEY), certificate(TestCertificates.ED25519_CERT)))
                .as("Ed25519")
                .isTrue();
    }

    @Test
    void aKeyOfAnotherCertificateDoesNotMatch() throws Exception {
        X509Certificate rsa = certificate(TestCertificates.CLIENT_CERT);
        assertThat(PemFiles.matches(key(TestCertificates.STRANGER_KEY), rsa)).isFalse();
        assertThat(PemFiles.matches(key(TestCertificates.EC_KEY_SEC1), rsa)).isFalse();
        assertThat(PemFiles.matches(key(TestCertificates.CLIENT_KEY_RSA), certificate(TestCertificates.EC_CERT)))
                .isFalse();
        assertThat(PemFiles.matches(key(TestCertificates.EC_KEY_PKCS8), certificate(TestCertificates.SERVER_CERT)))
                .isFalse();
    }

    @Test
    void encryptedKeysAreRefusedWithTheCommandThatDecryptsThem() {
        for (String encrypted :
                List.of(TestCertificates.CLIENT_KEY_ENCRYPTED_PKCS8, TestCertificates.CLIENT_KEY_ENCRYPTED_RSA)) {
            assertThatThrownBy(() -> key(encrypted))
                    .as(encrypted)
                    .isInstanceOf(PemFiles.PemException.class)
                    .hasMessageContaining("encrypted")
                    .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
        }
    }

    @Test
    void filesThatAreNotWhatTheyShouldBeAreNamedForWhatTheyAre() throws IOException {
        assertThatThrownBy(() -> key(TestCertificates.CLIENT_CERT)).hasMessageContaining("swapped");
        assertThatThrownBy(() -> certificate(TestCertificates.CLIENT_KEY_RSA)).hasMessageContaining("swapped");
        assertThatThrownBy(() -> key("absent.key")).hasMessage("no such file");
        Path der = dir.resolve("binary.der");
        Files.write(der, new byte[] {0x30, (byte) 0x82, 0x01, 0x00, 0x02});
        assertThatThrownBy(() -> PemFiles.certificates(der)).hasMessageContaining("not a PEM file");
        Path damaged = dir.resolve("damaged.key");
        Files.writeString(damaged, "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n");
        assertThatThrownBy(() -> PemFiles.privateKey(damaged)).isInstanceOf(PemFiles.PemException.class);
    }

    // The start-up check: each problem names its property and what to do.

    static Map<String, String> tls(String ca, String cert, String key) {
        Map<String, String> properties = new HashMap<>();
        if (ca != null) {
            properties.put(BrokerTls.CA_FILE, ca);
        }
        if (cert != null) {
            properties.put(BrokerTls.CERT_FILE, cert);
        }
        if (key != null) {
            properties.put(BrokerTls.KEY_FILE, key);
        }
        return properties;
    }

    @Test
    void aCertificateWithItsKeyPassesAndTurnsTlsOn() {
        Map<String, String> aws = tls(
                file(TestCertificates.CA), file(TestCertificates.CLIENT_CERT), file(TestCertificates.CLIENT_KEY_RSA));
        assertThat(ConfigCheckTest.problems(aws)).isEmpty();
        assertThat(ConfigCheckTest.warnings(aws)).isEmpty();
        MqttDynamoConfig config = ConfigCheckTest.config(aws);
        assertThat(config.broker().ssl()).isFalse();
        assertThat(config.broker().tlsEnabled()).isTrue();
        BrokerTls material = BrokerTls.load(config.broker().tls());
        assertThat(material.trustManagers()).isPresent();
        assertThat(material.keyManagers()).isPresent();
        assertThat(material.hostnameVerification()).isTrue();
        assertThat(material.describe()).contains("CN=mqtt-dynamo-test-client");

        assertThat(ConfigCheckTest.config(Map.of()).broker().tlsEnabled()).isFalse();
        BrokerTls jvmTrust = BrokerTls.load(ConfigCheckTest.config(Map.of("mqtt-dynamo.broker.ssl", "true"))
                .broker()
                .tls());
        assertThat(jvmTrust.trustManagers()).isEmpty();
        assertThat(jvmTrust.keyManagers()).isEmpty();
        assertThat(ConfigCheckTest.config(tls(file(TestCertificates.CA), null, null))
                        .broker()
                        .tlsEnabled())
                .isTrue();
    }

    @Test
    void aMissingFileIsRefusedNamingTheProperty() {
        String absent = dir.resolve("absent.pem").toString();
        assertThat(ConfigCheckTest.problems(tls(absent, null, null)))
                .singleElement()
                .asString()
                .startsWith(BrokerTls.CA_FILE + " = " + absent + ": no such file. Set it to the PEM file of the CA")
                .contains("AmazonRootCA1.pem");
        assertThat(ConfigCheckTest.problems(tls(null, absent, file(TestCertificates.CLIENT_KEY_RSA))))
                .singleElement()
                .asString()
                .startsWith(BrokerTls.CERT_FILE + " = " + absent + ": no such file");
        assertThat(ConfigCheckTest.problems(tls(null, file(TestCertificates.CLIENT_CERT), absent)))
                .singleElement()
                .asString()
                .startsWith(BrokerTls.KEY_FILE + " = " + absent + ": no such file")
                .contains("private.pem.key");
        assertThatThrownBy(() -> BrokerTls.load(
                        ConfigCheckTest.config(tls(absent, null, null)).broker().tls()))
                .hasMessageContaining(BrokerTls.CA_FILE);
    }

    @Test
    void aKeyThatIsNotTheCertificatesIsRefused() {
        assertThat(ConfigCheckTest.problems(
                        tls(null, file(TestCertificates.CLIENT_CERT), file(TestCertificates.STRANGER_KEY))))
                .singleElement()
                .asString()
                .startsWith(BrokerTls.KEY_FILE + " = " + file(TestCertificates.STRANGER_KEY)
                        + ": not the private key of the certificate in " + BrokerTls.CERT_FILE)
                .contains("CN=mqtt-dynamo-test-client");
        assertThat(ConfigCheckTest.problems(
                        tls(null, file(TestCertificates.CLIENT_CERT), file(TestCertificates.EC_KEY_SEC1))))
                .singleElement()
                .asString()
                .contains("its key is RSA, this one EC");
    }

    @Test
    void aCertificateWithoutKeyAndAKeyWithoutCertificateAreRefused() {
        assertThat(ConfigCheckTest.problems(tls(null, file(TestCertificates.CLIENT_CERT), null)))
                .singleElement()
                .asString()
                .startsWith(BrokerTls.CERT_FILE + " is set without " + BrokerTls.KEY_FILE);
        assertThat(ConfigCheckTest.problems(tls(null, null, file(TestCertificates.CLIENT_KEY_RSA))))
                .singleElement()
                .asString()
                .startsWith(BrokerTls.KEY_FILE + " is set without " + BrokerTls.CERT_FILE);
    }

    @Test
    void everyProblemIsListedAtOnce() {
        assertThat(ConfigCheckTest.problems(tls(
                        file("absent.pem"),
                        file(TestCertificates.CLIENT_KEY_RSA),
                        file(TestCertificates.CLIENT_KEY_ENCRYPTED_RSA))))
                .hasSize(3)
                .anySatisfy(p -> assertThat(p).startsWith(BrokerTls.CA_FILE))
                .anySatisfy(p -> assertThat(p).startsWith(BrokerTls.CERT_FILE).contains("swapped"))
                .anySatisfy(p -> assertThat(p).startsWith(BrokerTls.KEY_FILE).contains("encrypted"));
    }

    @Test
    void expiredCertificatesAndNoHostNameCheckAreWarnedAbout() {
        Map<String, String> aws = tls(
                file(TestCertificates.CA), file(TestCertificates.CLIENT_CERT), file(TestCertificates.CLIENT_KEY_PKCS8));
        BrokerTls.Reading later = BrokerTls.read(
                ConfigCheckTest.config(aws).broker().tls(), Instant.now().plus(30, ChronoUnit.DAYS));
        assertThat(later.problems()).isEmpty();
        assertThat(later.warnings())
                .hasSize(2)
                .anySatisfy(w -> assertThat(w).startsWith(BrokerTls.CA_FILE).contains("expired on"))
                .anySatisfy(w -> assertThat(w)
                        .startsWith(BrokerTls.CERT_FILE)
                        .contains("CN=mqtt-dynamo-test-client")
                        .contains("expired on"));

        Map<String, String> unchecked = new HashMap<>(aws);
        unchecked.put(BrokerTls.HOSTNAME_VERIFICATION, "false");
        assertThat(ConfigCheckTest.warnings(unchecked))
                .singleElement()
                .asString()
                .startsWith(BrokerTls.HOSTNAME_VERIFICATION + " = false");
        assertThat(ConfigCheckTest.warnings(Map.of(BrokerTls.HOSTNAME_VERIFICATION, "false")))
                .as("no TLS, nothing to verify")
                .isEmpty();
    }
}
