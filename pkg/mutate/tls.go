// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"fmt"
	"strings"
	"time"

	"github.com/cert-manager/cert-manager/pkg/apis/certmanager"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// TLSSecretName is the Secret of the pods' certificates: the user's, named
// by the tls-secret annotation, else <name>-tls, which the controller has
// cert-manager issue.
func TLSSecretName(sts *appsv1.StatefulSet) string {
	if name := sts.Annotations[contract.TLSSecretAnnotation]; name != "" {
		return name
	}
	return sts.Name + contract.TLSSecretTail
}

// IssuerRef names a cert-manager issuer: Kind is Issuer or ClusterIssuer.
type IssuerRef struct{ Kind, Name string }

// TLSIssuerOf reads the tls-issuer annotation ("NAME", "Issuer/NAME" or
// "ClusterIssuer/NAME"); ok is false without it.
func TLSIssuerOf(sts *appsv1.StatefulSet) (ref IssuerRef, ok bool, err error) {
	value, ok := sts.Annotations[contract.TLSIssuerAnnotation]
	if !ok {
		return IssuerRef{}, false, nil
	}
	kind, name, found := strings.Cut(value, "/")
	if !found {
		kind, name = "Issuer", value
	}
	if kind != "Issuer" && kind != "ClusterIssuer" {
		return IssuerRef{}, true, inputErrorf(ReasonTLS, "annotation %s=%q: the kind is Issuer or ClusterIssuer (\"NAME\", \"Issuer/NAME\" or \"ClusterIssuer/NAME\")",
			contract.TLSIssuerAnnotation, value)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return IssuerRef{}, true, inputErrorf(ReasonTLS, "annotation %s=%q: %q is not an issuer's name: %s", contract.TLSIssuerAnnotation, value, name, strings.Join(errs, "; "))
	}
	return IssuerRef{Kind: kind, Name: name}, true, nil
}

// checkTLSAnnotations refuses a tls-secret or tls-issuer annotation that
// cannot be used, and the two together.
func checkTLSAnnotations(sts *appsv1.StatefulSet) error {
	_, hasIssuer, err := TLSIssuerOf(sts)
	if err != nil {
		return err
	}
	secret, hasSecret := sts.Annotations[contract.TLSSecretAnnotation]
	if !hasSecret {
		return nil
	}
	if hasIssuer {
		return inputErrorf(ReasonTLS, "annotations %s and %s: name the Secret of the pods' certificates or the issuer that makes it, not both",
			contract.TLSSecretAnnotation, contract.TLSIssuerAnnotation)
	}
	if errs := validation.IsDNS1123Subdomain(secret); len(errs) > 0 {
		return inputErrorf(ReasonTLS, "annotation %s=%q: %s", contract.TLSSecretAnnotation, secret, strings.Join(errs, "; "))
	}
	return nil
}

// serverTLSConfig is what the .cnf files of a TLS profile add: the server
// serves TLS with the pod's certificate.
func serverTLSConfig() string {
	return fmt.Sprintf("ssl_ca=%s\nssl_cert=%s\nssl_key=%s\n", contract.TLSCAFile, contract.TLSCertFile, contract.TLSKeyFile)
}

// TLSOrdinals is how many pods the pods' certificate names for a
// StatefulSet of replicas: at least 16, doubled until it covers them, so
// that scaling up rarely needs a new certificate.
func TLSOrdinals(replicas int32) int {
	n := 16
	for n < int(replicas) {
		n *= 2
	}
	return n
}

// TLSNames are the names the pods' certificate holds for a StatefulSet in
// namespace: each of the first ordinals pods by its fully qualified name,
// as dialled with the trailing dot (which host name checks compare as it
// is) and without, every pod by a wildcard, and the Services.
func TLSNames(sts *appsv1.StatefulSet, namespace, clusterDomain string, ordinals int) []string {
	domain := func(host string) string { return fmt.Sprintf("%s.%s.svc.%s", host, namespace, clusterDomain) }
	service := HeadlessServiceName(sts)
	names := []string{"*." + domain(service), domain(service)}
	for _, s := range []string{ReadServiceName(sts), PrimaryServiceName(sts), ReplicasServiceName(sts)} {
		names = append(names, domain(s))
	}
	for i := 0; i < ordinals; i++ {
		pod := fmt.Sprintf("%s-%d.%s", sts.Name, i, service)
		names = append(names, domain(pod), domain(pod)+".")
	}
	return names
}

// caDuration is how long the StatefulSet's authority is valid; cert-manager
// renews the pods' certificate (90 days) well within it.
const caDuration = 10 * 365 * 24 * time.Hour

// TLSObjects are the cert-manager objects that issue the pods' TLS Secret
// <name>-tls for a StatefulSet of a TLS profile: by default the
// StatefulSet's own authority (a self-signed Issuer <name>-selfsigned, the
// CA Certificate and Secret <name>-ca, the CA Issuer <name>-ca) and the
// pods' Certificate <name>-tls it signs; with the tls-issuer annotation
// only that Certificate, signed by the issuer named; with the tls-secret
// annotation nothing (the user's Secret is used as it is). The issuers and
// certificates are owned by the StatefulSet once it has a UID; the Secrets
// cert-manager writes have no owner, and outlive the StatefulSet as its
// data does.
func TLSObjects(sts *appsv1.StatefulSet, clusterDomain string) ([]client.Object, error) {
	if err := checkTLSAnnotations(sts); err != nil {
		return nil, err
	}
	if _, own := sts.Annotations[contract.TLSSecretAnnotation]; own {
		return nil, nil
	}
	issuer, userIssuer, err := TLSIssuerOf(sts)
	if err != nil {
		return nil, err
	}
	var objs []client.Object
	if !userIssuer {
		ca := sts.Name + contract.CATail
		selfSigned := &cmapi.Issuer{
			TypeMeta:   metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.IssuerKind},
			ObjectMeta: CompanionMeta(sts, sts.Name+contract.SelfSignedIssuerTail, contract.ComponentTLS),
			Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}},
		}
		authority := &cmapi.Certificate{
			TypeMeta:   metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.CertificateKind},
			ObjectMeta: CompanionMeta(sts, ca, contract.ComponentTLS),
			Spec: cmapi.CertificateSpec{
				IsCA:       true,
				CommonName: fmt.Sprintf("%s.%s pods", sts.Name, sts.Namespace),
				SecretName: ca,
				Duration:   &metav1.Duration{Duration: caDuration},
				PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
				IssuerRef:  cmmeta.IssuerReference{Name: selfSigned.Name, Kind: cmapi.IssuerKind, Group: certmanager.GroupName},
			},
		}
		caIssuer := &cmapi.Issuer{
			TypeMeta:   metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.IssuerKind},
			ObjectMeta: CompanionMeta(sts, ca, contract.ComponentTLS),
			Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: ca}}},
		}
		objs = append(objs, selfSigned, authority, caIssuer)
		issuer = IssuerRef{Kind: cmapi.IssuerKind, Name: ca}
	}
	var replicas int32 = 1
	if sts.Spec.Replicas != nil {
		replicas = *sts.Spec.Replicas
	}
	pods := &cmapi.Certificate{
		TypeMeta:   metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.CertificateKind},
		ObjectMeta: CompanionMeta(sts, TLSSecretName(sts), contract.ComponentTLS),
		Spec: cmapi.CertificateSpec{
			CommonName: fmt.Sprintf("%s.%s", sts.Name, sts.Namespace),
			SecretName: TLSSecretName(sts),
			DNSNames:   TLSNames(sts, sts.Namespace, clusterDomain, TLSOrdinals(replicas)),
			// Each pod serves TLS and authenticates itself as a client
			// (the backup stream's receiver).
			Usages:     []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth, cmapi.UsageClientAuth},
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256, RotationPolicy: cmapi.RotationPolicyAlways},
			IssuerRef:  cmmeta.IssuerReference{Name: issuer.Name, Kind: issuer.Kind, Group: certmanager.GroupName},
		},
	}
	return append(objs, pods), nil
}
