"""A DCGAN in miniature, after pytorch/examples dcgan/main.py, on 8x8 synthetic images.

Generator: ConvTranspose2d + BatchNorm2d + ReLU up to Tanh; discriminator: Conv2d +
LeakyReLU(0.2, inplace=True) + BatchNorm2d down to Sigmoid; the weights_init of the example
applied with model.apply (then overwritten from NumPy so torch's generator is not used);
BCELoss with label tensors filled in place, two Adam optimizers with betas=(0.5, 0.999),
fake.detach() for the discriminator step.  The noise vectors come from NumPy.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

nz, ngf, ndf, nc = 4, 4, 4, 1
rng = np.random.default_rng(21)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),  # 4x4
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False),  # 8x8
            nn.Tanh()
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),  # 4x4
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),  # 1x1
            nn.Sigmoid()
        )

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


def numpy_init(model, seed):
    r = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith('weight'):  # BatchNorm scale
                p.copy_(torch.tensor(1.0 + 0.02 * r.standard_normal(p.shape), dtype=torch.float32))
            elif p.dim() == 1:
                p.zero_()
            else:
                p.copy_(torch.tensor(0.2 * r.standard_normal(p.shape), dtype=torch.float32))


netG, netD = Generator(), Discriminator()
netG.apply(weights_init)
netD.apply(weights_init)
numpy_init(netG, 1)
numpy_init(netD, 2)
print(netG)
print(sum(p.numel() for p in netG.parameters()), sum(p.numel() for p in netD.parameters()))

# "real" images: soft diagonal bars in [-1, 1]
r = np.arange(8)
bars = np.stack([np.tanh(2.0 * np.cos((r[:, None] + r[None, :] + s) / 2.0)) for s in range(16)])
real_images = torch.tensor(bars[:, None], dtype=torch.float32)

criterion = nn.BCELoss()
fixed_noise = torch.tensor(rng.standard_normal((4, nz, 1, 1)), dtype=torch.float32)
real_label, fake_label = 1, 0
optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))

batch_size = 8
for epoch in range(3):
    for i in range(0, 16, batch_size):
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real_cpu = real_images[i:i + batch_size]
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype)
        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.tensor(rng.standard_normal((batch_size, nz, 1, 1)), dtype=torch.float32)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        print('[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f'
              % (epoch, 3, i // batch_size, 2, errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))

netG.eval()
with torch.no_grad():
    fake = netG(fixed_noise)
print(fake.shape, f"{fake.mean().item():.5f} {fake.std().item():.5f}")
print(fake[0, 0, :2])
