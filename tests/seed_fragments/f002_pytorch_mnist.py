# seeds/002, 七、2 (3) PyTorch: a simple fully connected network on MNIST
import torch
import torch.nn as nn
import torch.optim as optim
# CHANGED: `from torchvision import datasets, transforms` and the MNIST download removed (no
# torchvision, no network). The test passes `trainloader`: tujie's MNIST batches of 64, shuffled,
# scaled to [0, 1] and then (x - 0.5) / 0.5, which is what ToTensor + Normalize((0.5,), (0.5,)) do.

# 定义模型
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(28*28, 128)  # 输入层到隐藏层
        self.fc2 = nn.Linear(128, 10)     # 隐藏层到输出层
    def forward(self, x):
        x = x.view(-1, 28*28)             # 展平
        x = torch.relu(self.fc1(x))       # 激活函数
        x = self.fc2(x)
        return x
model = Net()

# 定义损失函数和优化器
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.01)

# 训练模型
# CHANGED: `range(5)` becomes `range(epochs)`, passed by the test.
losses = []  # CHANGED: added, so that the test can read the per-epoch loss the fragment prints
for epoch in range(epochs):
    running_loss = 0.0
    for images, labels in trainloader:
        optimizer.zero_grad()             # 清零梯度
        outputs = model(images)           # 前向传播
        loss = criterion(outputs, labels) # 计算损失
        loss.backward()                   # 反向传播
        optimizer.step()                  # 更新参数
        running_loss += loss.item()
    print(f'Epoch {epoch+1}, Loss: {running_loss/len(trainloader)}')
    losses.append(running_loss / len(trainloader))  # CHANGED: see above
print('训练完成')
